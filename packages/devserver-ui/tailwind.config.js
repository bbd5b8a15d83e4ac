// The package's exports map has only an "import" condition, which Tailwind's config loader does not use.
import temporal from './node_modules/@temporalio/ui/dist/theme/preset.js';
import defaultTheme from 'tailwindcss/defaultTheme.js';

/** Tailwind with the UI's own preset; its components' classes are scanned from the package. */
export default {
  presets: [temporal],
  content: ['./src/**/*.{html,js,svelte,ts}', './node_modules/@temporalio/ui/dist/**/*.{html,js,svelte,ts}'],
  darkMode: ['selector', '[data-theme="dark"]'],
  theme: {
    fontFamily: {
      sans: ['Inter', ...defaultTheme.fontFamily.sans],
      mono: ['Noto Sans Mono', ...defaultTheme.fontFamily.mono],
    },
  },
};
