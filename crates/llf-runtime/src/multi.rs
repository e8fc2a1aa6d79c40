//! Several models at once: the same prompt on several servers in parallel, routing a prompt to
//! the model that suits it (complexity, cost, speed, quality from `multi_model.model_profiles`),
//! and combining answers (ensemble).

use std::collections::BTreeMap;
use std::time::Instant;

use llf_config::schema::{ModelProfile, RoutingStrategy};
use llf_core::chat::ChatMessage;
use serde::Serialize;

use crate::client::{ChatRequest, Completion};
use crate::runtime::{Runtime, Target};

/// One model's answer in a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct CompareEntry {
    /// The server (or `remote`).
    pub target: String,
    /// The answer.
    pub completion: Option<Completion>,
    /// Why there is none.
    pub error: Option<String>,
    /// Wall time including a server start, in ms.
    pub wall_ms: f64,
}

/// Sends `messages` to every target at once (starting local servers as needed) and returns the
/// answers in the order of `targets`.
pub async fn compare(
    rt: &Runtime,
    targets: &[Target],
    messages: &[ChatMessage],
) -> Vec<CompareEntry> {
    let runs = targets.iter().map(|t| async move {
        let start = Instant::now();
        let name = match t {
            Target::Server(n) => n.clone(),
            Target::Remote => "remote".to_owned(),
            Target::Default => rt
                .local_server_name(t)
                .unwrap_or_else(|| "remote".to_owned()),
        };
        let result = async {
            let conn = rt.connect(t, |_| {}).await?;
            let req =
                ChatRequest::new(messages.to_vec()).params(rt.config().inference_params.clone());
            conn.client.complete(req).await
        }
        .await;
        let wall_ms = start.elapsed().as_secs_f64() * 1e3;
        match result {
            Ok(c) => CompareEntry {
                target: name,
                completion: Some(c),
                error: None,
                wall_ms,
            },
            Err(e) => CompareEntry {
                target: name,
                completion: None,
                error: Some(e.to_string()),
                wall_ms,
            },
        }
    });
    futures::future::join_all(runs).await
}

/// A rough 1–10 estimate of how demanding a prompt is: length, code, multi-step reasoning words.
pub fn prompt_complexity(prompt: &str) -> f64 {
    let lower = prompt.to_lowercase();
    let words = prompt.split_whitespace().count() as f64;
    let mut score = 1.0 + (words / 40.0).min(4.0);
    if prompt.contains("```")
        || prompt.contains("fn ")
        || prompt.contains("def ")
        || prompt.contains("class ")
    {
        score += 2.0;
    }
    const HARD: [&str; 10] = [
        "prove",
        "analy",
        "explain why",
        "step by step",
        "compare",
        "design",
        "optimi",
        "derive",
        "debug",
        "architecture",
    ];
    score += HARD.iter().filter(|w| lower.contains(*w)).count() as f64 * 1.5;
    score.clamp(1.0, 10.0)
}

/// Picks one of `candidates` (names with a profile) for `prompt`; `None` for manual routing or
/// when no candidate has a profile.
pub fn route(
    strategy: RoutingStrategy,
    profiles: &BTreeMap<String, ModelProfile>,
    candidates: &[String],
    prompt: &str,
) -> Option<String> {
    let scored: Vec<(&String, &ModelProfile)> = candidates
        .iter()
        .filter_map(|c| profiles.get(c).map(|p| (c, p)))
        .collect();
    if scored.is_empty() {
        return None;
    }
    let best_by = |key: fn(&ModelProfile) -> f64| {
        scored
            .iter()
            .max_by(|a, b| key(a.1).total_cmp(&key(b.1)))
            .map(|(n, _)| (*n).clone())
    };
    match strategy {
        RoutingStrategy::Manual => None,
        RoutingStrategy::Cost => best_by(|p| p.cost_score),
        RoutingStrategy::Speed => best_by(|p| p.speed_score),
        RoutingStrategy::Quality => best_by(|p| p.quality_score),
        RoutingStrategy::Complexity => {
            let need = prompt_complexity(prompt);
            // The cheapest model able enough; the most able one when none is.
            scored
                .iter()
                .filter(|(_, p)| p.complexity_score >= need)
                .max_by(|a, b| a.1.cost_score.total_cmp(&b.1.cost_score))
                .map(|(n, _)| (*n).clone())
                .or_else(|| best_by(|p| p.complexity_score))
        }
    }
}

/// How to combine several answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Ensemble {
    /// Every answer under its model's name.
    Concat,
    /// The answer of the model with the best quality score (the longest on a tie).
    Best,
}

/// Combines the successful answers of a comparison.
pub fn ensemble(
    entries: &[CompareEntry],
    mode: Ensemble,
    profiles: &BTreeMap<String, ModelProfile>,
) -> Option<String> {
    let ok: Vec<(&str, &Completion)> = entries
        .iter()
        .filter_map(|e| e.completion.as_ref().map(|c| (e.target.as_str(), c)))
        .collect();
    match mode {
        Ensemble::Concat if !ok.is_empty() => Some(
            ok.iter()
                .map(|(n, c)| format!("### {n}\n{}", c.content.trim()))
                .collect::<Vec<_>>()
                .join("\n\n"),
        ),
        Ensemble::Concat => None,
        Ensemble::Best => ok
            .iter()
            .max_by(|a, b| {
                let q = |n: &str| profiles.get(n).map(|p| p.quality_score).unwrap_or(0.0);
                q(a.0)
                    .total_cmp(&q(b.0))
                    .then(a.1.content.len().cmp(&b.1.content.len()))
            })
            .map(|(_, c)| c.content.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles() -> BTreeMap<String, ModelProfile> {
        let p = |c, s, k, q| ModelProfile {
            complexity_score: c,
            speed_score: s,
            cost_score: k,
            quality_score: q,
            context_window: 4096,
        };
        BTreeMap::from([
            ("big".to_owned(), p(10.0, 3.0, 2.0, 10.0)),
            ("small".to_owned(), p(4.0, 9.0, 9.0, 5.0)),
        ])
    }

    #[test]
    fn routing_strategies() {
        let names = vec![
            "big".to_owned(),
            "small".to_owned(),
            "unprofiled".to_owned(),
        ];
        let pr = profiles();
        assert_eq!(
            route(RoutingStrategy::Speed, &pr, &names, "hi").as_deref(),
            Some("small")
        );
        assert_eq!(
            route(RoutingStrategy::Cost, &pr, &names, "hi").as_deref(),
            Some("small")
        );
        assert_eq!(
            route(RoutingStrategy::Quality, &pr, &names, "hi").as_deref(),
            Some("big")
        );
        assert_eq!(
            route(RoutingStrategy::Complexity, &pr, &names, "What is 2+2?").as_deref(),
            Some("small")
        );
        let hard = "Explain why this design is slow, step by step, and derive a better architecture:\n```fn main() {}```";
        assert!(prompt_complexity(hard) > 4.0);
        assert_eq!(
            route(RoutingStrategy::Complexity, &pr, &names, hard).as_deref(),
            Some("big")
        );
        assert_eq!(route(RoutingStrategy::Manual, &pr, &names, "hi"), None);
        assert_eq!(
            route(
                RoutingStrategy::Speed,
                &pr,
                &["unprofiled".to_owned()],
                "hi"
            ),
            None
        );
    }

    #[test]
    fn ensembles() {
        let entry = |t: &str, text: &str| CompareEntry {
            target: t.into(),
            completion: Some(Completion {
                content: text.into(),
                ..Completion::default()
            }),
            error: None,
            wall_ms: 1.0,
        };
        let failed = CompareEntry {
            target: "x".into(),
            completion: None,
            error: Some("down".into()),
            wall_ms: 1.0,
        };
        let entries = vec![
            entry("small", "short"),
            entry("big", "a longer answer"),
            failed,
        ];
        assert_eq!(
            ensemble(&entries, Ensemble::Concat, &profiles()).unwrap(),
            "### small\nshort\n\n### big\na longer answer"
        );
        assert_eq!(
            ensemble(&entries, Ensemble::Best, &profiles()).unwrap(),
            "a longer answer"
        );
        assert_eq!(ensemble(&entries[2..], Ensemble::Best, &profiles()), None);
    }
}
