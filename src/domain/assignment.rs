//! The optimal one-to-one assignment between two sets (speakers of two timelines): DER
//! scoring maps hypothesis speakers to reference ones with it, the diarizer maps one
//! system's speakers to another's to measure their agreement.

/// Maximum-weight assignment on a rectangular matrix (rows → distinct columns), by the
/// O(n³) potentials form of the Hungarian algorithm on a square, zero-padded cost matrix.
pub fn hungarian_max(gain: &[Vec<f64>]) -> Vec<Option<usize>> {
    let rows = gain.len();
    let cols = gain.first().map_or(0, Vec::len);
    let n = rows.max(cols);
    if n == 0 {
        return vec![None; rows];
    }
    let big = gain.iter().flatten().copied().fold(0.0, f64::max);
    let cost =
        |i: usize, j: usize| big - gain.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0.0);
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let (i0, mut delta, mut j1) = (p[j0], f64::INFINITY, 0);
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        while j0 != 0 {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        }
    }
    let mut out = vec![None; rows];
    for j in 1..=n {
        if p[j] >= 1 && p[j] <= rows && j <= cols {
            out[p[j] - 1] = Some(j - 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_is_optimal_not_greedy() {
        // Greedy on the largest cell (6: row 1 → col 1) gives 6 + 1 = 7; optimal is 5 + 4 = 9.
        let gain = vec![vec![1.0, 5.0, 0.0], vec![4.0, 6.0, 0.0]];
        assert_eq!(hungarian_max(&gain), vec![Some(1), Some(0)]);
        // More rows than columns: the weaker row stays unmapped.
        assert_eq!(hungarian_max(&[vec![3.0], vec![2.0]]), vec![Some(0), None]);
    }
}
