//! The user's memory at the composition root: the embedder built from the configuration
//! (handed to the memory store, which never depends on the inference crate), and which model
//! endpoints may be sent it.

use deskhand_inference::{init_runtime, EmbedderOptions, ModelPaths, TextEmbedder};

use crate::config::Config;
use crate::session::HostError;

/// Loads the local embedding model (all-MiniLM-L6-v2 from `./x setup`). A missing file is an
/// error naming the file and `./x setup`.
pub fn embedder(config: &Config) -> Result<TextEmbedder, HostError> {
    let paths = ModelPaths::from_cache_dir(&config.cache_dir);
    let fail = |e: deskhand_inference::InferenceError| HostError::Other(e.to_string());
    init_runtime(&paths.onnxruntime).map_err(fail)?;
    TextEmbedder::from_files(
        &paths.embed_model,
        &paths.embed_tokenizer,
        EmbedderOptions::default(),
    )
    .map_err(fail)
}

/// Why the user's memory must not be sent to the endpoint at `base_url`, or `None` when it
/// may: a loopback address (this machine), or one the user listed in `[memory]
/// trusted_endpoints` (an entry matches itself and the URLs below it).
pub fn withheld_from(base_url: &str, trusted: &[String]) -> Option<String> {
    if is_loopback(base_url) {
        return None;
    }
    let url = base_url.trim_end_matches('/');
    if trusted
        .iter()
        .map(|t| t.trim().trim_end_matches('/'))
        .any(|t| !t.is_empty() && (url == t || url.starts_with(&format!("{t}/"))))
    {
        return None;
    }
    Some(format!(
        "{base_url} is not on this machine and not trusted (add it to [memory] \
         trusted_endpoints in the config file to send it your memory)"
    ))
}

/// True when the URL's host is `localhost` or a loopback address.
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_and_trusted_endpoints_get_memory() {
        for url in [
            "http://127.0.0.1:11434/v1",
            "http://localhost:8000",
            "http://[::1]:9000/v1",
            "http://127.3.4.5",
        ] {
            assert_eq!(withheld_from(url, &[]), None, "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://10.0.0.5:8000/v1",
            "http://localhost.evil.example/v1",
            "http://127.0.0.1.example.com/v1",
            "http://user@192.168.1.2/v1",
        ] {
            let why = withheld_from(url, &[]).unwrap();
            assert!(
                why.contains(url) && why.contains("trusted_endpoints"),
                "{why}"
            );
        }
        let trusted = vec!["https://llm.example.org/v1/".to_string()];
        assert_eq!(withheld_from("https://llm.example.org/v1", &trusted), None);
        assert_eq!(
            withheld_from("https://llm.example.org/v1/chat", &trusted),
            None
        );
        let host_only = vec!["https://llm.example.org".to_string()];
        assert!(withheld_from("https://llm.example.org.evil/v1", &host_only).is_some());
        assert!(withheld_from("https://other.example.org/v1", &trusted).is_some());
    }
}
