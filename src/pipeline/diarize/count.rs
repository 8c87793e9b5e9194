//! How many people speak, when nobody said (`sessions.num_speakers` null or 0).
//!
//! Two pieces of evidence, both from the neural path's 10 s windows:
//! - **by distance**: the window embeddings (CAM++, unit length) clustered by average linkage,
//!   every merge closer than [`DISTINCT_VOICES`] applied; the clusters of at least a tenth of
//!   the embeddings (2..=3) are the voices, smaller ones are outliers (a laugh, a cough);
//! - **heard at once**: the most local speakers the segmentation heard in one window, each for
//!   at least `SEPARATED_LOCAL_S`: that many people spoke, whatever the embeddings say. On a
//!   1-on-1 call this is 2 even where the two voices' embeddings sit close (the pyannote
//!   sample's two voices merge at 0.475, under the threshold), so it comes out as 2, not 1.
//!
//! The count is the larger of the two, at most `max`. Measured alternatives (dev set,
//! `shared/data/conversations`, prototyped on the embeddings the neural path computes): the
//! normalized maximum eigengap (NME-SC) on the cosine affinity chose 4–8 speakers on five of
//! the six 2-speaker files (20–110 embeddings: the p-neighbour binarisation is too coarse at
//! that size); a threshold alone finds 1 on the pyannote sample and on AMI trn03.
//!
//! How sure: the distance from the threshold to the nearest merge of the dendrogram (a merge
//! within [`SURE_MARGIN`] of it could flip the count), raised to the share of windows that
//! heard that many people at once when the windows confirm a count of several. Measured
//! (`just eval auto`): 0.79–1.00 on the pyannote sample and the simulated calls, 0.02–0.57 on
//! the far-field AMI excerpts (trn07 0.02, trn09 0.05, trn04 0.07, dev00 0.29), whose last
//! merges sit within a few hundredths of the threshold.

use serde::{Deserialize, Serialize};

use super::cluster::merge_distances_and_count;

/// Cosine distance (average linkage) below which two clusters of window embeddings are one
/// voice. Chosen on the AMI train excerpts the issue names (trn04, trn05, trn07, trn08) and
/// the 2-speaker files (dev00, dev01, trn03, the pyannote sample, the simulated calls), with
/// trn00, trn06 and trn09 (3 speakers each) held out: 0.45 finds 5 voices on trn08 and 4 on
/// trn09; 0.55 folds dev00, dev01 and en_dev_3min into one voice by distance; 0.50 finds 3 on
/// trn04, trn07, trn08 and trn09, 1 on trn05 (one voice has 91 % of its reference speech; the
/// other three 0.4–1.4 s each) and 2 on trn00 and trn06 (held out: one short of 3).
pub const DISTINCT_VOICES: f32 = 0.5;

/// Merge distance from the threshold (cosine) from which the distance evidence counts as
/// sure: a tenth of the cosine range (0.42–0.74) in which the dev set's last merges lie.
pub const SURE_MARGIN: f32 = 0.1;

/// The estimated count and the evidence behind it (reported with the result).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountEstimate {
    /// The count the clustering was cut at.
    pub count: usize,
    /// 0..1, see the module doc.
    pub certainty: f32,
    /// Voices the window embeddings keep apart at [`DISTINCT_VOICES`].
    pub by_distance: usize,
    /// Most local speakers the segmentation heard in one window.
    pub heard_at_once: usize,
}

/// Estimates the count from unit-length window embeddings and, per window, the number of
/// local speakers heard (see the module doc). At least 1 when there is any embedding.
pub fn estimate(vectors: &[Vec<f32>], heard_per_window: &[usize], max: usize) -> CountEstimate {
    let min_size = (vectors.len() / 10).clamp(2, 3);
    let (by_distance, merges) = merge_distances_and_count(vectors, DISTINCT_VOICES, min_size);
    let heard_at_once = heard_per_window.iter().copied().max().unwrap_or(0);
    let count = by_distance.max(heard_at_once).clamp(1, max.max(1));
    let windows = heard_per_window.iter().filter(|&&h| h > 0).count().max(1);
    let heard_share =
        heard_per_window.iter().filter(|&&h| h >= count).count() as f32 / windows as f32;
    // A single embedding has no merge to measure: no distance evidence at all.
    let margin = if merges.is_empty() {
        0.0
    } else {
        merges
            .iter()
            .map(|d| (d - DISTINCT_VOICES).abs())
            .fold(SURE_MARGIN, f32::min)
            / SURE_MARGIN
    };
    // The windows decided (more people heard at once than the distances keep apart), or
    // confirm a count of several (one voice heard alone confirms nothing): their share is the
    // evidence; otherwise only the distances are.
    let certainty = if heard_at_once > by_distance {
        heard_share
    } else if heard_at_once == count && count >= 2 {
        margin.max(heard_share)
    } else {
        margin
    };
    CountEstimate {
        count,
        certainty,
        by_distance,
        heard_at_once,
    }
}

#[cfg(test)]
#[path = "count_tests.rs"]
mod tests;
