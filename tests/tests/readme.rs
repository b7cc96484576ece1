//! The README's "Using it" walkthrough, run as written against the server under test,
//! so the first commands a newcomer copies can never drift from the product.
//!
//! Each `sh` block of that section is split into commands (a trailing `\` continues
//! a line) and run in order with bash, in one sandbox (its own HOME and client
//! configs) whose working directory holds the files the prose promises: an OCI
//! layout `./layout` tagged `v1.0.0`, `chart-1.0.0.tgz` and `sbom.json`.
//!
//! Placeholders are words in capitals. PASSWORD is the admin's password; a command's
//! trailing comment binds the others from its JSON answer: `# {"id": "CUSTOMER", …}`
//! binds CUSTOMER to the answer's `id`. A placeholder used before it is bound fails
//! the test. Beyond placeholders, the text is rewritten only where the test server
//! differs from `make dev` (address, admin email) and where a second run against the
//! same server would collide (customer names and emails are unique).

use std::fs;

use tollgate_e2e::*;

/// A command of the walkthrough and the placeholders its answer binds (key → name).
#[derive(Debug)]
struct Step {
    command: String,
    binds: Vec<(String, String)>,
}

fn using_it_section(readme: &str) -> &str {
    let start = readme
        .find("\n## Using it\n")
        .expect("README.md has a '## Using it' section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The commands of every ```sh block, continuation lines joined.
fn steps(section: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in section.lines() {
        match (in_block, line.trim()) {
            (false, "```sh") => in_block = true,
            (true, "```") => in_block = false,
            (true, text) => match text.strip_suffix('\\') {
                Some(head) => pending.push_str(head),
                None => {
                    pending.push_str(text);
                    steps.push(step(&std::mem::take(&mut pending)));
                }
            },
            _ => {}
        }
    }
    steps
}

/// Splits `command   # comment` and reads the `"key": "NAME"` pairs of the comment.
fn step(line: &str) -> Step {
    let (command, comment) = match line.find("  # ") {
        Some(i) => (line[..i].trim(), &line[i + 4..]),
        None => (line.trim(), ""),
    };
    let binds = comment
        .split(", ")
        .filter_map(|pair| {
            let pair = pair.trim_matches(|c| "{} …".contains(c));
            let (key, value) = pair.split_once(": ")?;
            let name = value.trim_matches('"');
            is_placeholder(name).then(|| (key.trim_matches('"').to_string(), name.to_string()))
        })
        .collect();
    Step {
        command: command.to_string(),
        binds,
    }
}

fn is_placeholder(word: &str) -> bool {
    word.len() >= 3
        && word.starts_with(|c: char| c.is_ascii_uppercase())
        && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The placeholder words of `text`: runs of capitals and underscores, whole words.
fn placeholders(text: &str) -> Vec<&str> {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| is_placeholder(w))
        .collect()
}

/// `text` with each whole-word placeholder replaced by its value.
fn fill(text: &str, values: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if is_word_char(c) {
            word.push(c);
            continue;
        }
        match values.iter().find(|(name, _)| *name == word) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&word),
        }
        word.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    fs::read_to_string(path).expect("read README.md")
}

/// Every placeholder the walkthrough uses is PASSWORD or bound by an earlier command.
#[test]
fn readme_binds_every_placeholder_before_use() {
    let steps = steps(using_it_section(&readme()));
    assert!(steps.len() >= 8, "too few commands found: {steps:#?}");
    let mut bound = vec!["PASSWORD".to_string()];
    for s in &steps {
        for word in placeholders(&s.command) {
            assert!(
                bound.iter().any(|b| b == word),
                "README uses {word} before a command binds it: {}",
                s.command
            );
        }
        bound.extend(s.binds.iter().map(|(_, name)| name.clone()));
    }
}

/// The files the walkthrough pushes, made in the sandbox's working directory.
fn make_fixtures(sb: &Sandbox) {
    let work = sb.work();
    let layout = OciLayout::create(&work.join("layout"));
    let (layer, diff_id) = targz_layer(&[("hello.txt", b"hello from the README\n")]);
    let layer = layout.add_bytes(OCI_LAYER_GZIP, &layer);
    let config = layout.add_bytes(OCI_CONFIG, &image_config("amd64", &[diff_id]));
    let manifest = layout.add_bytes(OCI_MANIFEST, &oci_manifest(&config, &[layer], None));
    layout.write_index(&[(manifest, Some("v1.0.0"))]);
    sb.run("helm", &["create", "chart"]);
    sb.run("helm", &["package", "chart", "--version", "1.0.0"]);
    fs::write(
        work.join("sbom.json"),
        br#"{"spdxVersion": "SPDX-2.3", "name": "app", "packages": []}"#,
    )
    .unwrap();
}

/// Rewrites of the README's text for the test server, longest first.
fn server_rewrites(run: &str) -> Vec<(String, String)> {
    let r = registry();
    let port = r.host.rsplit(':').next().unwrap();
    vec![
        ("localhost:8787".into(), format!("localhost:{port}")),
        ("admin@tollgate.local".into(), r.user.clone()),
        ("acme.example".into(), format!("acme-{run}.example")),
        ("Acme".into(), format!("Acme-{run}")),
    ]
}

fn rewrite(text: &str, rewrites: &[(String, String)]) -> String {
    rewrites
        .iter()
        .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
}

#[test]
fn readme_walkthrough_runs_as_written() {
    let admin_password = std::env::var("TOLLGATE_ADMIN_PASSWORD")
        .expect("TOLLGATE_ADMIN_PASSWORD (scripts/serve-test.sh exports it)");
    let sb = Sandbox::new("readme");
    make_fixtures(&sb);
    let rewrites = server_rewrites(&random_hex(6));
    let mut values = vec![("PASSWORD".to_string(), admin_password)];
    // Shell functions a block defines stay defined for the commands after them.
    let mut functions = String::new();
    for s in steps(using_it_section(&readme())) {
        let command = fill(&rewrite(&s.command, &rewrites), &values);
        if command.contains("() {") {
            functions.push_str(&command);
            functions.push('\n');
            continue;
        }
        let script = format!("set -euo pipefail\n{functions}{command}");
        let run = sb.run("bash", &["-c", &script]);
        for (key, name) in &s.binds {
            let value = run.json()[key.as_str()]
                .as_str()
                .unwrap_or_else(|| panic!("no string {key:?} in the answer of\n{run:?}"))
                .to_string();
            values.push((name.clone(), value));
        }
    }
}
