/** Types of ensure-built.mjs, for the TypeScript scripts and tests that build the UI before serving it. */
export declare const uiPackageDir: string;
export declare const uiBuildDir: string;
export declare function uiInputsHash(): string;
export declare function uiBuildIsCurrent(): boolean;
export declare function ensureUiBuilt(options?: { quiet?: boolean; log?: (line: string) => void }): {
  built: boolean;
  dir: string;
  seconds: number;
};
