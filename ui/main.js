// Deskhand front end: calls the Rust commands and shows the core Event stream.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (id) => document.getElementById(id);

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = "status" + (kind ? " " + kind : "");
}

function errorText(e) {
  return typeof e === "string" ? e : (e && e.message) || JSON.stringify(e);
}

// Steps of the current run, keyed by step index, filled from events.
const steps = new Map();

function stepRow(index) {
  let row = steps.get(index);
  if (!row) {
    row = document.createElement("li");
    row.dataset.step = String(index);
    row.className = "pending";
    row.innerHTML =
      '<span class="action"></span><span class="target"></span>' +
      '<span class="result"></span><span class="ms"></span>';
    $("steps").appendChild(row);
    steps.set(index, row);
  }
  return row;
}

function describeAction(action) {
  if (!action) return "";
  const { kind, ...rest } = action;
  const args = Object.values(rest)
    .filter((v) => v !== null && typeof v !== "object")
    .join(" ");
  return args ? `${kind} ${args}` : kind;
}

function onEvent(ev) {
  // Events of an agent run belong to the task view (confirmations and pauses stay here).
  if (taskView.onEvent(ev)) return;
  switch (ev.event) {
    case "run_started":
      setStatus(`run ${ev.run} running`, "busy");
      break;
    case "action_started": {
      const row = stepRow(ev.step);
      row.querySelector(".action").textContent = describeAction(ev.action);
      row.querySelector(".target").textContent = ev.target || "";
      break;
    }
    case "step_finished": {
      const row = stepRow(ev.step);
      row.className = ev.ok ? "ok" : "error";
      row.querySelector(".result").textContent = ev.ok ? "ok" : ev.error || "error";
      row.querySelector(".ms").textContent = `${ev.ms} ms`;
      break;
    }
    case "run_finished":
      setStatus(`run ${ev.run} ${ev.status}`, ev.status === "succeeded" ? "ok" : "error");
      break;
    case "notice":
      setStatus(ev.message);
      break;
    case "paused":
      setStatus(`paused: ${ev.reason}`, "busy");
      $("resume").hidden = false;
      break;
    case "resumed":
      $("resume").hidden = true;
      setStatus("running", "busy");
      break;
    case "confirmation_requested":
      askConfirmation(ev);
      break;
    case "action_refused": {
      const row = stepRow(ev.step);
      row.querySelector(".result").textContent = `refused: ${ev.reason}`;
      break;
    }
  }
}

// The policy asks before risky actions: show the exact action and let the user decide.
function askConfirmation(ev) {
  $("confirm-shown").textContent = ev.shown;
  $("confirm-reason").textContent = `${ev.reason} (${ev.rule})`;
  $("confirm").hidden = false;
}

async function answerConfirmation(allow) {
  $("confirm").hidden = true;
  try {
    await invoke("confirm", { allow });
  } catch (e) {
    setStatus(String(e), "error");
  }
}

async function capture() {
  $("capture").disabled = true;
  try {
    const shot = await invoke("capture");
    $("shot").src = "data:image/png;base64," + shot.png_base64;
    $("shot").classList.add("shown");
    $("shot-empty").hidden = true;
    $("shot-size").textContent = `${shot.width}x${shot.height}`;
  } catch (e) {
    setStatus(errorText(e), "error");
  } finally {
    $("capture").disabled = false;
  }
}

async function run() {
  const commands = $("commands").value
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (commands.length === 0) {
    setStatus("nothing to run: type one command per line", "error");
    return;
  }
  steps.clear();
  $("steps").replaceChildren();
  $("run").disabled = true;
  $("stop").disabled = false;
  setStatus("running", "busy");
  try {
    const outcome = await invoke("run_commands", { commands });
    setStatus(`run ${outcome.run} ${outcome.status}`, outcome.status === "succeeded" ? "ok" : "error");
  } catch (e) {
    setStatus(errorText(e), "error");
  } finally {
    $("run").disabled = false;
    $("stop").disabled = true;
    refreshRuns();
  }
}

async function refreshRuns() {
  try {
    const runs = await invoke("recent_runs", { limit: 8 });
    $("runs").replaceChildren(
      ...runs.map((r) => {
        const li = document.createElement("li");
        li.textContent = `#${r.id} ${r.status} — ${r.task}`;
        return li;
      })
    );
  } catch (_) {
    // No display or database yet; the status line already says why when it matters.
  }
}

async function ping() {
  try {
    $("ping-result").textContent = await invoke("ping", { message: $("ping-text").value });
  } catch (e) {
    $("ping-result").textContent = errorText(e);
  }
}

function showTab(name) {
  for (const tab of ["task", "screen", "memory"]) {
    const on = tab === name;
    $(`tab-${tab}`).classList.toggle("active", on);
    $(`tab-${tab}`).setAttribute("aria-selected", String(on));
    $(`${tab}-view`).hidden = !on;
  }
}

$("tab-task").addEventListener("click", () => showTab("task"));
$("tab-screen").addEventListener("click", () => showTab("screen"));
$("tab-memory").addEventListener("click", () => {
  showTab("memory");
  memoryView.refresh();
});
$("capture").addEventListener("click", capture);
$("run").addEventListener("click", run);
$("stop").addEventListener("click", () => invoke("cancel"));
$("ping").addEventListener("click", ping);
listen("deskhand://event", (e) => onEvent(e.payload));
$("resume").addEventListener("click", async () => {
  try {
    await invoke("resume");
  } catch (e) {
    setStatus(String(e), "error");
  }
});
$("confirm-allow").addEventListener("click", () => answerConfirmation(true));
$("confirm-deny").addEventListener("click", () => answerConfirmation(false));
document.addEventListener("task-finished", refreshRuns);
refreshRuns();
