// Code 128 (code set B) as inline SVG, for the item ids (S10: two letters, nine digits, two letters) printed on
// handover manifests. Each symbol is 3 bars and 3 spaces, widths in modules; the table is ISO/IEC 15417's.
export const PATTERNS = [
  "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
  "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
  "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
  "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
  "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
  "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
  "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
  "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
  "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
  "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
  "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];
const START_B = 104;
const STOP = 106;
const QUIET = 10;

// The symbol values: start B, the characters, the checksum, stop.
export function code128Values(text) {
  const values = [START_B];
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code < 32 || code > 127) throw new Error(`Code 128B cannot encode ${JSON.stringify(ch)}`);
    values.push(code - 32);
  }
  let sum = START_B;
  for (let i = 1; i < values.length; i += 1) sum += values[i] * i;
  values.push(sum % 103, STOP);
  return values;
}

// Widths in modules, alternating bar/space, starting with a bar.
export function code128Widths(text) {
  return code128Values(text).flatMap((v) => PATTERNS[v].split("").map(Number));
}

export function code128Svg(text, { module = 1.6, height = 46, label = true } = {}) {
  const widths = code128Widths(text);
  const total = widths.reduce((a, b) => a + b, 0) + 2 * QUIET;
  const w = total * module;
  const hTotal = height + (label ? 14 : 0);
  let x = QUIET * module;
  let rects = "";
  widths.forEach((width, i) => {
    if (i % 2 === 0) rects += `<rect x="${x.toFixed(2)}" y="0" width="${(width * module).toFixed(2)}" height="${height}"/>`;
    x += width * module;
  });
  const caption = label
    ? `<text x="${(w / 2).toFixed(1)}" y="${height + 12}" text-anchor="middle" font-family="monospace" font-size="11">${text.replace(/[<&>]/g, "")}</text>`
    : "";
  return `<svg xmlns="http://www.w3.org/2000/svg" class="barcode" data-code="${text.replace(/[^A-Z0-9]/gi, "")}" width="${w.toFixed(1)}" height="${hTotal}" viewBox="0 0 ${w.toFixed(1)} ${hTotal}"><rect width="100%" height="100%" fill="#fff"/><g fill="#000">${rects}</g>${caption}</svg>`;
}
