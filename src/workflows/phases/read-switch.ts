/**
 * READ_SWITCH (one step per percentage): the share of reads served by the target, sticky per routing
 * key; raising it only moves keys from source to target.
 * Undo: restore the previous percentage.
 */
import type { ActionOf, PhaseModule } from './types.js';

export const readSwitch: PhaseModule<ActionOf<'restoreReadPercent'>> = {
  async run({ ctx, switches }, frame) {
    ctx.ensure(frame, { kind: 'restoreReadPercent', percent: ctx.s.switches.readPercent });
    const percent = frame.readPercent ?? 100;
    await switches.set({ readPercent: percent }, `read switch -> ${percent}% on target`);
  },

  async undo({ switches }, action) {
    await switches.set({ readPercent: action.percent }, `read switch back to ${action.percent}%`);
  },
};
