//! Speaker colours shared by the timeline, the charts and the transcript.

const COLOURS: [&str; 6] = [
    "#2f6fdf", "#e0783a", "#2a9d74", "#9b59b6", "#c0392b", "#7f8c8d",
];
const TINTS: [&str; 6] = [
    "#eaf1fd", "#fdf0e7", "#e6f5ef", "#f3ebf7", "#f9e6e4", "#eef0f0",
];

/// Colour for the speaker in lane `lane` (position in the speaker list, not the index).
pub fn colour(lane: usize) -> &'static str {
    COLOURS[lane % COLOURS.len()]
}

/// Light background for transcript rows of that lane.
pub fn tint(lane: usize) -> &'static str {
    TINTS[lane % TINTS.len()]
}
