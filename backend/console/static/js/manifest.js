// A printable handover manifest: both parties, every item with its Code 128 barcode, two signature blocks.
import { api, errorText, fmtTime, h, startPage, t } from "./common.js";
import { code128Svg } from "./barcode.js";

const user = startPage(["desk", "dispatcher", "agency", "admin"]);

function svgNode(markup) {
  const holder = document.createElement("div");
  holder.innerHTML = markup; // our own generated SVG, the text is an item id with <&> removed
  return holder.firstElementChild;
}

async function org(code) {
  if (!code) return null;
  return api(`organisations/${encodeURIComponent(code)}`).catch(() => null);
}

async function render() {
  const box = document.getElementById("manifest");
  const id = location.hash.slice(1);
  try {
    const ho = await api(`handovers/${id}`);
    const [from, to] = await Promise.all([org(ho.from.org), org(ho.to.org)]);
    const party = (side, o) => (o ? `${o.name} (${o.code})` : side.org || side.kind);
    const items = ho.items.filter((i) => i.state !== "extra");
    box.replaceChildren(
      h("div", { class: "no-print row" }, h("button", { type: "button", class: "primary", onclick: () => window.print() }, t("manifest.print"))),
      h("h1", {}, t("manifest.title")),
      h("p", { class: "center" }, `${t("manifest.created")}: ${fmtTime(ho.created_at)} · ID ${ho.id}`),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("manifest.sender")),
        h("dd", { id: "manifest-from" }, party(ho.from, from)),
        h("dt", {}, t("manifest.receiver")),
        h("dd", { id: "manifest-to" }, party(ho.to, to)),
        ho.seal_number ? [h("dt", {}, t("send.seal")), h("dd", {}, ho.seal_number)] : null,
        h("dt", {}, t("manifest.count")),
        h("dd", {}, String(items.length)),
      ),
      h(
        "table",
        { class: "grid manifest-items" },
        h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, t("col.item")), h("th", {}, t("manifest.barcode")), h("th", {}, t("col.state")))),
        h(
          "tbody",
          {},
          items.map((item, i) =>
            h("tr", {}, h("td", {}, String(i + 1)), h("td", { class: "mono" }, item.item_id), h("td", {}, svgNode(code128Svg(item.item_id))), h("td", {}, t(`state.${item.state === "expected" ? "expected" : item.state}`))),
          ),
        ),
      ),
      h(
        "div",
        { class: "signatures" },
        h("div", {}, h("b", {}, t("manifest.sender")), h("br"), h("small", {}, t("manifest.sign")), h("div", { class: "sign-line" })),
        h("div", {}, h("b", {}, t("manifest.receiver")), h("br"), h("small", {}, t("manifest.sign")), h("div", { class: "sign-line" })),
      ),
    );
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, errorText(err)));
  }
}

if (user) {
  render();
  document.addEventListener("langchange", render);
}
