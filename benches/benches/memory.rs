//! The memory store on a real SQLite file: retrieving the tips (1,000 stored) and shortcuts
//! (200 stored) relevant to a task, as done before every agent step, and recording one step
//! with its model calls (each committed before the next step starts).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use criterion::{criterion_group, criterion_main, Criterion};
use deskhand_core::experience::{Experience, ModelCallRecord, Shortcut, ShortcutParam, Tip};
use deskhand_core::ports::{
    AgentStepInfo, MemoryStore, ModuleTimes, Outcome, StepRecord, TokenUsage,
};
use deskhand_core::{Action, KeyChord, Point};
use deskhand_memory::SqliteMemory;

const APPS: [&str; 5] = ["mousepad", "galculator", "thunar", "gnumeric", "abiword"];
const WORDS: &[&str] = &[
    "save",
    "open",
    "file",
    "menu",
    "dialog",
    "button",
    "press",
    "type",
    "name",
    "folder",
    "document",
    "cell",
    "sheet",
    "column",
    "row",
    "format",
    "bold",
    "font",
    "size",
    "insert",
    "delete",
    "copy",
    "paste",
    "undo",
    "redo",
    "search",
    "replace",
    "window",
    "close",
    "tab",
    "scroll",
    "click",
    "double",
    "right",
    "left",
    "toolbar",
    "field",
    "enter",
    "escape",
    "shift",
    "ctrl",
    "alt",
    "path",
    "home",
    "result",
    "clear",
    "digit",
    "equals",
    "plus",
    "minus",
    "print",
    "preview",
    "zoom",
    "view",
    "edit",
    "tools",
    "options",
    "settings",
    "apply",
    "cancel",
    "rename",
    "move",
    "trash",
    "list",
    "icon",
    "select",
    "all",
    "line",
    "word",
    "paragraph",
];

/// A small deterministic generator, so every run benches the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| WORDS[self.next(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn app(i: usize) -> &'static str {
    // One in ten is for any app.
    if i % 10 == 9 {
        ""
    } else {
        APPS[i % APPS.len()]
    }
}

fn filled_store(dir: &std::path::Path) -> SqliteMemory {
    let mut m = SqliteMemory::open(&dir.join("deskhand.db")).unwrap();
    let mut rng = Lcg(7);
    let mut tips = 0;
    let mut i = 0;
    while tips < 1_000 {
        let words = 8 + rng.next(8);
        let text = format!("{}.", rng.sentence(words));
        let id = m
            .add_tip(&Tip {
                id: 0,
                app: app(i).into(),
                text,
                source_run: Some(1),
                uses: 0,
                created_ms: 1_000 + i as i64,
            })
            .unwrap();
        if id as usize > tips {
            tips += 1;
        }
        i += 1;
    }
    for i in 0..200 {
        let name = format!(
            "{}_{}_{i}",
            WORDS[rng.next(WORDS.len())],
            WORDS[rng.next(WORDS.len())]
        );
        m.save_shortcut(&Shortcut {
            id: 0,
            name,
            app: app(i).into(),
            description: {
                let n = 6 + rng.next(6);
                rng.sentence(n)
            },
            parameters: vec![ShortcutParam {
                name: "text".into(),
                description: "what to type".into(),
            }],
            precondition: rng.sentence(5),
            requires: None,
            steps: vec![
                format!("click '{}'", WORDS[rng.next(WORDS.len())]),
                "type \"{text}\"".into(),
                "key Return".into(),
            ],
            source_run: Some(1),
            uses: 0,
            successes: 0,
        })
        .unwrap();
    }
    assert_eq!(m.list_tips(None).unwrap().len(), 1_000);
    assert_eq!(m.list_shortcuts(None).unwrap().len(), 200);
    m
}

fn step(index: u32) -> StepRecord {
    StepRecord {
        index,
        request: "press the Save button".into(),
        action: Some(Action::Key {
            chord: KeyChord::parse("ctrl+s").unwrap(),
        }),
        point: Some(Point::new(640.0, 400.0)),
        target: Some("push button \"Save\" (a12)".into()),
        ok: true,
        error: None,
        screenshot: Some("/tmp/step.png".into()),
        effect: None,
        policy: None,
        perceive_ms: 120,
        act_ms: 40,
        started_ms: 1_000,
        agent: Some(AgentStepInfo {
            subgoal: "save the document as report.txt".into(),
            thought: "the Save dialog is open; type the name".into(),
            shortcut: None,
            outcome: Some(Outcome::A),
            error_description: String::new(),
            progress: "the name is typed".into(),
            calls: 2,
            usage: TokenUsage {
                prompt: 2_400,
                completion: 80,
                cached: 0,
            },
            times: ModuleTimes::default(),
            marks_screenshot: Some("/tmp/marks.png".into()),
        }),
    }
}

fn call(step: u32, role: &str, prompt: &str) -> ModelCallRecord {
    ModelCallRecord {
        step,
        role: role.into(),
        prompt: prompt.into(),
        reply:
            "{\"thought\":\"type the name\",\"action\":{\"kind\":\"type\",\"text\":\"report.txt\"}}"
                .into(),
        usage: TokenUsage {
            prompt: 2_400,
            completion: 80,
            cached: 0,
        },
        ms: 900,
        error: None,
        memory_used: Vec::new(),
    }
}

fn memory(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut m = filled_store(dir.path());
    let query = "Save the document as \"report.txt\" in the home folder, then close the window.";
    let mut group = c.benchmark_group("memory");
    group.bench_function("relevant_tips_1000_tips_limit_5", |b| {
        b.iter(|| {
            let tips = m.relevant_tips("mousepad", query, 5).unwrap();
            assert_eq!(tips.len(), 5);
        })
    });
    group.bench_function("relevant_shortcuts_200_shortcuts_limit_5", |b| {
        b.iter(|| {
            let s = m.relevant_shortcuts("mousepad", query, 5).unwrap();
            assert_eq!(s.len(), 5);
        })
    });
    // A prompt of a realistic size (~8 KB: the compact tree and the history).
    let prompt = format!(
        "[{{\"role\":\"user\",\"content\":\"{}\"}}]",
        "x".repeat(8_000)
    );
    let run = m.start_run("bench", 1).unwrap();
    let mut index = 0u32;
    group.bench_function("record_step_and_2_calls", |b| {
        b.iter(|| {
            m.record_step(run, &step(index)).unwrap();
            m.record_call(run, &call(index, "operator", &prompt))
                .unwrap();
            m.record_call(run, &call(index, "reflector", &prompt))
                .unwrap();
            index += 1;
        })
    });
    group.finish();
    eprintln!("recorded {index} steps");
}

criterion_group!(benches, memory);
criterion_main!(benches);
