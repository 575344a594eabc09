// The task view: an instruction run by the agents, shown step by step as the core events
// arrive (the Set-of-Marks screenshot the Operator saw, its thought, the action, the
// Reflector's outcome, model calls and tokens), with Stop and the final status.
"use strict";

const taskView = (() => {
  const { invoke } = window.__TAURI__.core;
  const $ = (id) => document.getElementById(id);
  const rows = new Map();
  let running = false;
  let subgoal = "";
  let totals = { calls: 0, tokens: 0 };

  const OUTCOMES = { a: "A success", b: "B wrong state", c: "C no change" };

  function status(text, kind) {
    const el = $("task-status");
    el.textContent = text;
    el.className = "task-status" + (kind ? " " + kind : " muted");
  }

  function row(step) {
    let li = rows.get(step);
    if (!li) {
      li = document.createElement("li");
      li.dataset.step = String(step);
      li.className = "pending";
      li.innerHTML =
        '<button type="button" class="thumb" title="Set-of-Marks screenshot" disabled>' +
        '<img alt=""></button>' +
        '<div class="body">' +
        '<div class="head"><span class="n"></span><span class="subgoal"></span></div>' +
        '<div class="thought"></div>' +
        '<div class="action"></div>' +
        '<div class="outcome"></div>' +
        '<div class="stats"></div>' +
        "</div>";
      // Numbered as shown: a Steward run's planning and evaluation calls take step indices
      // of their own.
      li.querySelector(".n").textContent = `Step ${rows.size + 1}`;
      li.querySelector(".subgoal").textContent = subgoal;
      li.querySelector(".thumb").addEventListener("click", () => zoom(li));
      $("agent-steps").appendChild(li);
      rows.set(step, li);
      li.scrollIntoView({ block: "nearest" });
    }
    return li;
  }

  function set(li, cls, text) {
    li.querySelector("." + cls).textContent = text;
  }

  async function showMarks(li, path) {
    try {
      const png = await invoke("image", { path });
      const img = li.querySelector(".thumb img");
      img.src = "data:image/png;base64," + png;
      img.alt = `Set-of-Marks screenshot of step ${li.dataset.step}`;
      li.querySelector(".thumb").disabled = false;
      li.classList.add("has-marks");
    } catch (e) {
      li.querySelector(".thumb").title = String(e);
    }
  }

  function zoom(li) {
    const src = li.querySelector(".thumb img").src;
    if (!src) return;
    $("zoom-img").src = src;
    $("zoom").hidden = false;
  }

  // The Steward's graph: one card per subtask with its app, state and the facts it found;
  // a re-plan strikes out what was left and appends the new nodes.
  const nodes = new Map();

  function drawGraph(ev) {
    const graph = $("task-graph");
    graph.hidden = false;
    if (ev.revision > 0) {
      const li = document.createElement("li");
      li.className = "replan";
      li.textContent = `re-planned (${ev.revision}): ${ev.nodes.length} subtask(s) left`;
      graph.appendChild(li);
    }
    for (const n of ev.nodes) {
      const li = document.createElement("li");
      li.className = "node state-waiting";
      li.innerHTML =
        '<span class="id"></span><span class="app"></span><span class="state"></span>' +
        '<div class="what"></div><div class="facts"></div>';
      li.querySelector(".id").textContent = n.id;
      li.querySelector(".app").textContent = n.app;
      li.querySelector(".state").textContent = "waiting";
      let what = n.instruction;
      if (n.inputs && n.inputs.length) what += ` (needs ${n.inputs.join(", ")})`;
      if (n.outputs && n.outputs.length) {
        what += ` → ${n.outputs.map((o) => o.name).join(", ")}`;
      }
      li.querySelector(".what").textContent = what;
      graph.appendChild(li);
      nodes.set(`${ev.revision}/${n.id}`, li);
      nodes.set(n.id, li);
    }
  }

  function nodeChanged(ev) {
    const li = nodes.get(ev.node);
    if (!li) return;
    li.className = "node state-" + ev.state;
    li.querySelector(".state").textContent = ev.state;
    const facts = (ev.facts || []).map((f) => `${f.name} = ${f.value}`).join(", ");
    li.querySelector(".facts").textContent = facts || ev.reason || "";
  }

  // Returns true when the event belongs to the task view.
  function onEvent(ev) {
    if (!running) return false;
    switch (ev.event) {
      case "run_started":
        status(`run ${ev.run}: working…`, "busy");
        return true;
      case "planned": {
        const plan = $("task-plan");
        plan.textContent = ev.plan;
        plan.hidden = !ev.plan;
        // The step's card shows it once the step acts ("Finished" ends the run instead).
        subgoal = ev.subgoal;
        if (rows.has(ev.step)) set(rows.get(ev.step), "subgoal", ev.subgoal);
        return true;
      }
      case "model_called": {
        totals.calls += 1;
        totals.tokens += ev.usage.prompt + ev.usage.completion;
        $("task-totals").textContent = `${totals.calls} calls · ${totals.tokens} tokens`;
        if (ev.error) set(row(ev.step), "outcome", `${ev.role} failed: ${ev.error}`);
        return true;
      }
      case "decided": {
        const li = row(ev.step);
        set(li, "thought", ev.thought);
        set(li, "action", ev.action);
        if (ev.marks) showMarks(li, ev.marks);
        return true;
      }
      case "reflected": {
        const li = row(ev.step);
        const o = String(ev.outcome).toLowerCase();
        li.className = "outcome-" + o + (li.classList.contains("has-marks") ? " has-marks" : "");
        set(li, "outcome", OUTCOMES[o] + (ev.error ? `: ${ev.error}` : ""));
        return true;
      }
      case "step_finished":
        if (!ev.ok) set(row(ev.step), "outcome", ev.error || "the action failed");
        return true;
      case "action_refused":
        set(row(ev.step), "outcome", `refused: ${ev.reason}`);
        return true;
      case "agent_step": {
        const li = row(ev.step);
        if (ev.subgoal) set(li, "subgoal", ev.subgoal);
        if (ev.action) set(li, "action", ev.action);
        if (li.classList.contains("pending")) li.classList.remove("pending");
        const tokens = ev.usage.prompt + ev.usage.completion;
        const calls = `${ev.calls} call${ev.calls === 1 ? "" : "s"}`;
        set(li, "stats", `${(ev.ms / 1000).toFixed(1)} s · ${calls} · ${tokens} tokens`);
        return true;
      }
      case "run_finished":
        status(
          `run ${ev.run} ${ev.status}` + (ev.summary ? `: ${ev.summary}` : ""),
          ev.status === "succeeded" ? "ok" : "error"
        );
        return true;
      case "graph":
        drawGraph(ev);
        return true;
      case "node":
        nodeChanged(ev);
        return true;
      case "perceived":
      case "action_started":
        return true;
      default:
        return false;
    }
  }

  async function run() {
    const instruction = $("task").value.trim();
    if (!instruction) {
      status("Type what Deskhand should do first.", "error");
      return;
    }
    rows.clear();
    subgoal = "";
    totals = { calls: 0, tokens: 0 };
    $("agent-steps").replaceChildren();
    $("task-plan").hidden = true;
    nodes.clear();
    $("task-graph").replaceChildren();
    $("task-graph").hidden = true;
    $("task-totals").textContent = "";
    $("task-run").disabled = true;
    $("task-stop").disabled = false;
    running = true;
    status("starting…", "busy");
    try {
      const preset = $("task-preset").value || null;
      const outcome = await invoke("run_task", { instruction, preset });
      // run_finished already said it, with the summary; this covers a lost event.
      if (!$("task-status").textContent.startsWith(`run ${outcome.run} `)) {
        status(`run ${outcome.run} ${outcome.status}`, outcome.status === "succeeded" ? "ok" : "error");
      }
    } catch (e) {
      status(typeof e === "string" ? e : JSON.stringify(e), "error");
    } finally {
      running = false;
      $("task-run").disabled = false;
      $("task-stop").disabled = true;
      document.dispatchEvent(new CustomEvent("task-finished"));
    }
  }

  async function stop() {
    $("task-stop").disabled = true;
    status("stopping…", "busy");
    await invoke("cancel");
  }

  $("task-run").addEventListener("click", run);
  $("task-stop").addEventListener("click", stop);
  $("task").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !$("task-run").disabled) run();
  });
  $("zoom").addEventListener("click", () => ($("zoom").hidden = true));

  return { onEvent, isRunning: () => running };
})();
