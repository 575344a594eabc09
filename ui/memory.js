// The Memory tab: what the user's own memory holds (bio, facts, shades, sources), a search
// by meaning and words, and the user's edits, each one call to Rust. Text from memory is
// always set as text, never as HTML.
"use strict";

const memoryView = (() => {
  const { invoke } = window.__TAURI__.core;
  const $ = (id) => document.getElementById(id);

  function status(text, kind) {
    const el = $("memory-status");
    el.textContent = text;
    el.className = kind === "error" ? "error-text" : "muted";
  }

  function errorText(e) {
    return typeof e === "string" ? e : (e && e.message) || JSON.stringify(e);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(label, onClick, title) {
    const b = el("button", "small", label);
    b.type = "button";
    if (title) b.setAttribute("aria-label", title);
    b.addEventListener("click", onClick);
    return b;
  }

  function from(support) {
    if (!support) return "set by you";
    return support.chunk === null
      ? `source ${support.source} (chunk changed)`
      : `source ${support.source}, chunk ${support.chunk}`;
  }

  function show(view) {
    const bio = view.bio;
    $("bio-first").value = bio ? bio.first_person : "";
    $("bio-third").value = bio ? bio.third_person : "";
    $("bio-version").textContent = bio
      ? `version ${bio.version}, ${bio.author === "user" ? "written by you" : "written by the memory model"}`
      : "no bio yet";

    const facts = $("facts").querySelector("tbody");
    facts.replaceChildren(
      ...view.facts.map((f) => {
        const tr = el("tr");
        tr.dataset.fact = String(f.id);
        tr.append(el("td", "key", f.key), el("td", "value", f.value));
        const meta = el("td", "from", f.author === "user" ? "set by you" : from(f.support));
        const act = el("td");
        act.append(button("Delete", () => call("memory_delete_fact", { id: f.id }), `delete fact ${f.key}`));
        tr.append(meta, act);
        return tr;
      })
    );
    if (view.facts.length === 0) {
      const tr = el("tr");
      tr.append(el("td", "from", "No facts yet."));
      facts.append(tr);
    }

    $("shades").replaceChildren(
      ...view.shades.map((s) => {
        const li = el("li");
        li.dataset.shade = String(s.id);
        const body = el("div", "grow");
        body.append(el("strong", "", s.name), el("span", "from", `  ${Math.round(s.confidence * 100)}%`));
        const desc = el("div", "description", s.description);
        body.append(desc);
        li.append(body);
        li.append(
          button("Edit", () => {
            const text = window.prompt(`Describe "${s.name}"`, s.description);
            if (text !== null && text.trim()) call("memory_edit_shade", { id: s.id, description: text });
          }, `edit shade ${s.name}`),
          button("Delete", () => call("memory_delete_shade", { id: s.id }), `delete shade ${s.name}`)
        );
        return li;
      })
    );
    if (view.shades.length === 0) $("shades").append(el("li", "from", "No shades yet."));

    $("sources").replaceChildren(
      ...view.sources.map((s) => {
        const li = el("li");
        li.dataset.source = String(s.id);
        li.append(
          el("span", "grow", s.uri),
          el("span", "from", `${s.chunks} chunk${s.chunks === 1 ? "" : "s"}${s.tag ? " [" + s.tag + "]" : ""}`),
          button("Forget", () => call("memory_forget", { id: s.id }), `forget ${s.uri}`)
        );
        return li;
      })
    );
    if (view.sources.length === 0) {
      $("sources").append(el("li", "from", "Nothing yet: keep a note below, or `deskhand memory add FILE`."));
    }
  }

  async function call(command, args) {
    try {
      show(await invoke(command, args || {}));
      status("Saved. Your memory stays on this machine.");
    } catch (e) {
      status(errorText(e), "error");
    }
  }

  async function refresh() {
    try {
      show(await invoke("memory_view"));
    } catch (e) {
      status(errorText(e), "error");
    }
  }

  async function search() {
    const query = $("memory-query").value.trim();
    if (!query) {
      status("Type what you are looking for.", "error");
      return;
    }
    $("memory-search").disabled = true;
    status("Searching…");
    try {
      const hits = await invoke("memory_search", { query });
      $("memory-hits").replaceChildren(
        ...hits.map((h) => {
          const li = el("li");
          li.append(el("span", "text", (h.heading ? h.heading + ": " : "") + h.text));
          li.append(el("span", "why", `${h.why}, ${h.source}`));
          return li;
        })
      );
      status(hits.length ? `${hits.length} found` : "Nothing in your memory matches.");
    } catch (e) {
      status(errorText(e), "error");
    } finally {
      $("memory-search").disabled = false;
    }
  }

  $("memory-search").addEventListener("click", search);
  $("memory-query").addEventListener("keydown", (e) => {
    if (e.key === "Enter") search();
  });
  $("bio-save").addEventListener("click", () =>
    call("memory_edit_bio", { firstPerson: $("bio-first").value, thirdPerson: $("bio-third").value })
  );
  $("fact-add").addEventListener("click", async () => {
    await call("memory_set_fact", { key: $("fact-key").value, value: $("fact-value").value });
    $("fact-key").value = "";
    $("fact-value").value = "";
  });
  $("note-add").addEventListener("click", async () => {
    const text = $("note-text").value;
    await call("memory_note", { text });
    $("note-text").value = "";
  });

  return { refresh };
})();
