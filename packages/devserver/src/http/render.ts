/**
 * GET /render?content=<markdown>&theme=<light|dark>: the page Temporal UI shows in an iframe for a
 * workflow's current details and other markdown (ui-server serves the same route). Raw HTML in the
 * markdown is escaped, and the page runs under a Content-Security-Policy sandbox with no script at all.
 */
import { Marked } from 'marked';

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Markdown with raw HTML shown as text, never interpreted. */
const markdown = new Marked({ renderer: { html: ({ text }) => escapeHtml(text) } });

const STYLE = `
  body { margin: 0; padding: 1rem; font-family: sans-serif; font-size: 14px; line-height: 1.5; white-space: pre-line; }
  body[data-theme='dark'] { background: #141414; color: #f8fafc; }
  h1, h2, h3, h4 { margin: 0.5em 0; }
  p, ul, ol { margin: 0 0 0.5em; }
  ul, ol { padding-left: 1.5em; }
  code, pre { font-family: monospace; }
  a { color: #444ce7; }
`;

export function renderMarkdownPage(content: string, theme: string): { html: string; csp: string } {
  const nonce = crypto.randomUUID().replace(/-/g, '');
  const themeAttr = theme === 'dark' ? 'dark' : 'light'; // never echoed as given
  const html = [
    '<!doctype html><html><head><title>Rendered Markdown</title><base target="_blank">',
    '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<style nonce="${nonce}">${STYLE}</style></head>`,
    `<body data-theme="${themeAttr}"><main>${markdown.parse(content, { async: false })}</main></body></html>`,
  ].join('');
  const csp =
    `base-uri 'self'; default-src 'none'; style-src 'nonce-${nonce}'; script-src 'none'; ` +
    `frame-ancestors 'self'; form-action 'none'; sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox;`;
  return { html, csp };
}
