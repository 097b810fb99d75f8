// Text escaping for the hand-written SVG reports.

/** Escape the three characters that are not literal in SVG text and attributes. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
