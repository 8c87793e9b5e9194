//! Fixed report wording in Japanese and English (the session language picks one;
//! `auto` gets English, whose labels the Japanese-speaking team also reads).

use crate::domain::Language;

pub struct Texts {
    pub lang: &'static str,
    pub title: &'static str,
    pub duration: &'static str,
    pub generated: &'static str,
    pub model: &'static str,
    pub diagnosis: &'static str,
    pub skills: &'static str,
    pub skill_names: [&'static str; 4],
    pub emotions: &'static str,
    pub emotion_names: [&'static str; 3],
    pub prescriptions: &'static str,
    pub measured: &'static str,
    pub target: &'static str,
    pub timeline: &'static str,
    pub legend_overlap: &'static str,
    pub legend_backchannel: &'static str,
    pub legend_silence: &'static str,
    pub metrics: &'static str,
    pub events: &'static str,
    pub no_events: &'static str,
    pub transcript: &'static str,
    pub not_produced: &'static str,
    pub judgement_invalid: &'static str,
    pub judgement_unavailable: &'static str,
    pub roles_uncertain: &'static str,
    pub roles_certain: &'static str,
    pub diarization_degraded: &'static str,
    pub count_estimated: &'static str,
    pub count_sure: &'static str,
    pub provenance: &'static str,
    pub why: &'static str,
    pub unknown: &'static str,
}

pub fn texts(lang: Language) -> &'static Texts {
    if lang == Language::Ja { &JA } else { &EN }
}

static JA: Texts = Texts {
    lang: "ja",
    title: "コーチング・セッションレポート",
    duration: "長さ",
    generated: "作成日時",
    model: "評価モデル",
    diagnosis: "あなたのコーチングスタイル",
    skills: "コーチングスキル",
    skill_names: ["傾聴", "質問", "共感", "フィードバック"],
    emotions: "感情の傾向",
    emotion_names: ["ポジティブ", "ニュートラル", "ネガティブ"],
    prescriptions: "次回への処方箋",
    measured: "測定値",
    target: "目標",
    timeline: "話者タイムライン",
    legend_overlap: "割り込み",
    legend_backchannel: "相づち",
    legend_silence: "長い沈黙",
    metrics: "測定された指標",
    events: "会話の出来事",
    no_events: "重なりや長い沈黙は検出されませんでした。",
    transcript: "発言記録",
    not_produced: "この項目は作成されていません（AI評価が実行されていないため）。測定値のセクションは有効です。",
    judgement_invalid: "この項目は作成されていません。AIの回答が検証に通らなかったため（修正依頼の後も）、採用していません。測定値のセクションは有効です。",
    judgement_unavailable: "この項目は作成されていません。AI評価サービスに接続できませんでした。測定値のセクションは有効です。",
    diarization_degraded: "話者分離は縮退モードで実行されました（従来方式、精度が低下します）",
    roles_uncertain: "話者の役割（コーチ／クライアント）を十分な確信度で判定できませんでした。話者は番号で表示しています。",
    roles_certain: "役割判定の確信度",
    count_estimated: "話者数は指定がなかったため推定しました",
    count_sure: "推定の確からしさ",
    provenance: "このレポートについて",
    why: "根拠",
    unknown: "不明",
};

static EN: Texts = Texts {
    lang: "en",
    title: "Coaching Session Report",
    duration: "Duration",
    generated: "Generated",
    model: "Assessed by",
    diagnosis: "Your coaching style",
    skills: "Coaching skills",
    skill_names: ["Listening", "Questioning", "Empathy", "Feedback"],
    emotions: "Emotional tone",
    emotion_names: ["Positive", "Neutral", "Negative"],
    prescriptions: "Prescriptions for next time",
    measured: "Measured",
    target: "Target",
    timeline: "Speaker timeline",
    legend_overlap: "Interruption",
    legend_backchannel: "Backchannel",
    legend_silence: "Long silence",
    metrics: "Measured metrics",
    events: "Conversation events",
    no_events: "No overlaps or long silences were detected.",
    transcript: "Transcript",
    not_produced: "Not produced: no AI assessment was run for this session. The measured sections are complete.",
    judgement_invalid: "Not produced: the AI's answer failed validation, also after one repair request, so it was not used. The measured sections are complete.",
    judgement_unavailable: "Not produced: the AI assessment service could not be reached. The measured sections are complete.",
    diarization_degraded: "diarization ran in degraded mode (classical path, less accurate)",
    roles_uncertain: "Roles (coach / client) could not be determined with enough confidence; speakers are shown by number.",
    roles_certain: "Role confidence",
    count_estimated: "The number of speakers was not given and was estimated",
    count_sure: "how sure",
    provenance: "About this report",
    why: "Why",
    unknown: "unknown",
};

/// A metric row: key, Japanese and English names, plain-language explanation.
pub struct MetricDoc {
    pub key: &'static str,
    pub name: [&'static str; 2],
    pub explain: [&'static str; 2],
}

pub const METRIC_DOCS: &[MetricDoc] = &[
    MetricDoc {
        key: "talk_ratio",
        name: ["発話割合", "Talk share"],
        explain: [
            "全発話時間のうちその人が話した割合。コーチは3〜4割が目安です。",
            "Share of all speaking time. Coaches typically aim for 30–40 %.",
        ],
    },
    MetricDoc {
        key: "talk_time_s",
        name: ["発話時間", "Speaking time"],
        explain: [
            "その人が話していた合計時間。",
            "Total time this person was speaking.",
        ],
    },
    MetricDoc {
        key: "turns",
        name: ["発話ターン数", "Turns"],
        explain: [
            "話し手が交代して話し始めた回数。",
            "How many times this person took the floor.",
        ],
    },
    MetricDoc {
        key: "mean_turn_s",
        name: ["平均ターン長", "Mean turn length"],
        explain: ["1回の発話の平均的な長さ。", "Average length of one turn."],
    },
    MetricDoc {
        key: "longest_monologue_s",
        name: ["最長の独話", "Longest monologue"],
        explain: [
            "途切れずに話し続けた最長時間。",
            "Longest stretch of uninterrupted talk.",
        ],
    },
    MetricDoc {
        key: "mean_response_latency_s",
        name: ["応答までの間", "Response pause"],
        explain: [
            "相手が話し終えてから話し始めるまでの平均時間。短すぎると相手が考える余白がありません。",
            "Average pause after the other person stops before this person starts. Too short leaves no room to think.",
        ],
    },
    MetricDoc {
        key: "questions_open",
        name: ["開かれた質問", "Open questions"],
        explain: [
            "「どう」「なぜ」など自由に答えられる質問の数。",
            "Questions that invite a free answer (how, what, why).",
        ],
    },
    MetricDoc {
        key: "questions_closed",
        name: ["閉じた質問", "Closed questions"],
        explain: [
            "はい／いいえで答えられる質問の数。",
            "Questions answered with yes or no.",
        ],
    },
    MetricDoc {
        key: "backchannels",
        name: ["相づち", "Backchannels"],
        explain: [
            "相手の発話中に入れた短い相づち（はい・うん・なるほど）。",
            "Short acknowledgements during the other's speech (yeah, right).",
        ],
    },
    MetricDoc {
        key: "interruptions",
        name: ["割り込み", "Interruptions"],
        explain: [
            "相手の発話に重ねて話し始めた回数（相づちを除く）。",
            "Times this person started talking over the other (not counting backchannels).",
        ],
    },
];

/// Session-wide metrics a prescription may cite: key, Japanese and English names.
pub const SESSION_METRIC_NAMES: &[(&str, [&str; 2])] = &[
    ("duration_s", ["セッションの長さ", "Session length"]),
    (
        "gini_coefficient",
        ["発話の偏り（ジニ係数）", "Talk imbalance (Gini)"],
    ),
    (
        "interactivity_per_min",
        ["1分あたりの話者交代", "Speaker switches per minute"],
    ),
    ("long_silences", ["長い沈黙の回数", "Long silences"]),
    ("speech_rate", ["話す速さ", "Speech rate"]),
];
