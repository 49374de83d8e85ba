//! Running crmgate as an operator meets it: what its log says when the configuration file
//! changes, logs that go to a file, search cursors a client cannot set itself, and the demo's
//! copy-paste commands.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use crate::support::{demo_command, https_client, mtls_client, repo, write_config, Proxy};

/// The real binary with its log written to a file (not a terminal), killed when dropped.
struct Logged {
    child: Child,
    log: PathBuf,
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Logged {
    fn serve(config: &Path, dir: &Path) -> Logged {
        let log = dir.join("crmgate.log");
        let child = Command::new(env!("CARGO_BIN_EXE_crmgate"))
            .args(["serve", "--config"])
            .arg(config)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Logged { child, log }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the log holds `needle` at least `times` times; the log then.
    fn wait_for(&mut self, needle: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.text();
            if text.matches(needle).count() >= times {
                return text;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("crmgate exited ({status}) before logging `{needle}`:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "`{needle}` not logged {times} time(s):\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A config for the binary in `dir`, with its policy file a copy there that a test may touch.
fn config_in(dir: &Path) -> (PathBuf, PathBuf) {
    let policies = dir.join("custom.cedar");
    std::fs::copy(repo().join("policies/santa.cedar"), &policies).unwrap();
    // The CRM is never asked in these tests.
    let config = write_config(dir, "127.0.0.1:9".parse().unwrap(), &policies, 8 << 20);
    (config, policies)
}

fn touch(policies: &Path) {
    let mut text = std::fs::read_to_string(policies).unwrap();
    text.push_str("\n// touched\n");
    std::fs::write(policies, text).unwrap();
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = config_in(dir.path());
    let mut crmgate = Logged::serve(&config, dir.path());
    let log = crmgate.wait_for("crmgate listening", 1);
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a log file:\n{log:?}"
    );
}

#[test]
fn a_changed_configuration_file_is_reported_once_as_needing_a_restart() {
    const RESTART: &str = "configuration changes take effect only after a restart";
    const PROBLEMS: &str = "the configuration file changed and has problems";
    const BACK: &str = "the configuration file is back to the running configuration";
    let dir = tempfile::tempdir().unwrap();
    let (config, policies) = config_in(dir.path());
    let running = std::fs::read_to_string(&config).unwrap();
    let mut crmgate = Logged::serve(&config, dir.path());
    crmgate.wait_for("crmgate listening", 1);

    // A change: said once, that it needs a restart.
    std::fs::write(
        &config,
        running.replacen("timeout_ms = 5000", "timeout_ms = 6000", 1),
    )
    .unwrap();
    crmgate.wait_for(RESTART, 1);
    // Not again on every look at the file: a policy change, noticed by later looks, comes
    // and goes, and the message stays one.
    touch(&policies);
    let log = crmgate.wait_for("policies reloaded", 1);
    assert_eq!(log.matches(RESTART).count(), 1, "{log}");

    // A change with a problem: the problem, once, at its line.
    std::fs::write(
        &config,
        running.replacen(
            "timeout_ms = 5000",
            "timeout_ms = 5000\ntimeout_sec = 10",
            1,
        ),
    )
    .unwrap();
    let log = crmgate.wait_for(PROBLEMS, 1);
    let line = running
        .lines()
        .position(|l| l.contains("timeout_ms = 5000"))
        .unwrap()
        + 2;
    assert!(
        log.contains(&format!(
            "{}:{line}:1: unknown field `timeout_sec`",
            config.display()
        )),
        "{log}"
    );

    // Fixed (back to what runs): said once, and the old problem is not repeated after it.
    std::fs::write(&config, &running).unwrap();
    crmgate.wait_for(BACK, 1);
    touch(&policies);
    let log = crmgate.wait_for("policies reloaded", 2);
    assert_eq!(log.matches(PROBLEMS).count(), 1, "{log}");
    assert_eq!(log.matches("timeout_sec").count(), 1, "{log}");
    assert_eq!(log.matches(RESTART).count(), 1, "{log}");
}

const SEARCH: &str = "/crm/v3/objects/contacts/search";

fn search_page(after: Option<&str>) -> Value {
    let mut body = json!({
        "filterGroups": [{"filters": [{"propertyName": "lastname", "operator": "HAS_PROPERTY"}]}],
        "properties": ["firstname", "lastname"],
        "limit": 5
    });
    if let Some(a) = after {
        body["after"] = json!(a);
    }
    body
}

fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_cursors_are_sealed_and_a_chosen_or_changed_one_is_refused() {
    let proxy = Proxy::start_binary().await;
    // Marketing is shown only some of the contacts a search matches: crmgate counts and
    // pages the search itself.
    let search = |after: Option<String>| {
        let proxy = &proxy;
        async move {
            proxy
                .post(
                    SEARCH,
                    "tinsel",
                    Some("product_marketing"),
                    search_page(after.as_deref()),
                )
                .await
        }
    };
    let first = search(None).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let cursor = first.json()["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        cursor.trim().parse::<u64>().is_err(),
        "a search cursor is a plain offset: {cursor}"
    );
    // The owner continues where the first page ended.
    let second = search(Some(cursor.clone())).await;
    assert_eq!(second.status, 200, "{}", second.text());
    let (a, b) = (ids(&first.json()), ids(&second.json()));
    assert!(
        !b.is_empty() && b.iter().all(|id| !a.contains(id)),
        "{a:?} {b:?}"
    );

    // A position of one's own choosing, or a changed cursor, is refused.
    // A sealed cursor (nonce, ciphertext, tag): one bit changed anywhere is refused.
    let mut bytes = hex::decode(&cursor).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    let tampered = hex::encode(bytes);
    for bad in ["5", "0", "30", tampered.as_str(), "x.y"] {
        let reply = search(Some(bad.to_string())).await;
        assert_eq!(reply.status, 400, "`{bad}`: {}", reply.text());
    }
    // Another purpose's cursor does not open either.
    let reply = proxy
        .post(
            SEARCH,
            "tinsel",
            Some("greetings"),
            search_page(Some(&cursor)),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text());
}

/// The demo prints copy-paste `curl` commands: each is carried out as written (the dev
/// token's `$(cargo run -q -- certs token …)` by the binary under test) and answers 2xx,
/// except the Grinch's, whose account is inactive (403, as the tour says).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_curl_the_demo_prints_answers_as_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut child = demo_command(d).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let demo = Logged {
        child,
        log: d.join("unused.log"),
    };
    let printed = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut out = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            out.push_str(&line);
            out.push('\n');
            if line.starts_with("Serving until") {
                break;
            }
        }
        out
    });
    let printed = tokio::time::timeout(Duration::from_secs(60), printed)
        .await
        .expect("the demo did not finish its tour")
        .unwrap();
    assert!(printed.contains("Serving until"), "{printed}");

    let commands = curl_commands(&printed);
    assert!(commands.len() >= 10, "{printed}");
    for words in commands {
        let shown = words.join(" ");
        let reply = carry_out(&words, d).await;
        let expected_refusal = shown.contains("demo-key-grinch");
        if expected_refusal {
            assert_eq!(reply.0, 403, "{shown}: {}", reply.1);
        } else {
            assert!(
                (200..300).contains(&reply.0),
                "{shown}: {} {}",
                reply.0,
                reply.1
            );
        }
    }
    drop(demo);
}

/// The `curl` commands of the demo's output, each as its words after shell quoting (a line
/// ending in `\` continues on the next); `$(…)` is run, with `cargo run -q --` standing for
/// the binary under test.
fn curl_commands(printed: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut lines = printed.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if !line.starts_with("curl ") {
            continue;
        }
        let mut command = line.to_string();
        while command.ends_with('\\') {
            command.pop();
            command.push(' ');
            command.push_str(lines.next().unwrap_or("").trim());
        }
        commands.push(shell_words(&command));
    }
    commands
}

fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '$' if chars.peek() == Some(&'(') => {
                            chars.next();
                            let inner: String = chars.by_ref().take_while(|&c| c != ')').collect();
                            word.push_str(&substitute(&inner));
                        }
                        c => word.push(c),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// `$(cargo run -q -- ARGS)`: the binary under test with ARGS, its output trimmed.
fn substitute(inner: &str) -> String {
    let args = inner
        .trim()
        .strip_prefix("cargo run -q --")
        .unwrap_or_else(|| panic!("unexpected command substitution `{inner}`"));
    let out = Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(args.split_whitespace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{inner}`: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Carry out one `curl` command's words: its status and body.
async fn carry_out(words: &[String], dir: &Path) -> (u16, String) {
    assert_eq!(words.first().map(String::as_str), Some("curl"));
    let mut headers = Vec::new();
    let mut body: Option<String> = None;
    let mut cert = None;
    let mut key = None;
    let mut url = None;
    let mut it = words.iter().skip(1);
    let file = |p: &String| {
        let path = dir.join(p);
        assert!(
            path.exists(),
            "the demo names a file that is not there: {p}"
        );
        std::fs::read(path).unwrap()
    };
    while let Some(w) = it.next() {
        match w.as_str() {
            "-s" => {}
            "--cacert" => {
                file(it.next().unwrap());
            }
            "-H" => {
                let (k, v) = it.next().unwrap().split_once(':').unwrap();
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            "-d" => body = Some(it.next().unwrap().clone()),
            "--cert" => cert = Some(file(it.next().unwrap())),
            "--key" => key = Some(file(it.next().unwrap())),
            u if u.starts_with("https://") => url = Some(u.to_string()),
            other => panic!("the test does not know the curl option `{other}`"),
        }
    }
    let client = match (&cert, &key) {
        (Some(c), Some(k)) => mtls_client(c, k),
        _ => https_client(),
    };
    let mut request = http::Request::builder()
        .method(if body.is_some() { "POST" } else { "GET" })
        .uri(url.unwrap());
    for (k, v) in &headers {
        request = request.header(k.as_str(), v.as_str());
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}
