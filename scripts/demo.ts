// Placeholder until the end-to-end demo lands (issue: the main job end to end).
console.log('npm run demo: not implemented yet — the end-to-end demo is being built; run `npm test` meanwhile.');
