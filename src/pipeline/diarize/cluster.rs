//! Clustering of unit-length window embeddings: average-linkage agglomerative clustering
//! (nearest-neighbour chain, O(n²)) cut so that the requested number of *substantial*
//! clusters exists, then spherical k-means refinement. Tiny clusters are treated as outliers
//! and folded into the nearest substantial one: a 0.5 s cough must not become "speaker 2".

/// One merge of the dendrogram: the two cluster roots and their cosine distance.
struct Merge {
    a: usize,
    b: usize,
    dist: f32,
}

/// Cluster labels `0..k` for every vector and the centroids.
pub struct Clustering {
    pub labels: Vec<usize>,
    pub centroids: Vec<Vec<f32>>,
}

/// `k`: known speaker count, or `None` to estimate with `threshold` (cosine distance) up to
/// `max_k`. `min_size`: windows a cluster needs to count as a speaker.
pub fn cluster(
    vectors: &[Vec<f32>],
    k: Option<usize>,
    max_k: usize,
    threshold: f32,
    min_size: usize,
) -> Clustering {
    let n = vectors.len();
    if n < 2 {
        return finish(vectors, vec![0; n], 1);
    }
    let merges = nn_chain(vectors);
    let cut = choose_cut(&merges, n, k, max_k, threshold, min_size);
    let (roots, sizes) = apply(&merges[..cut], n);
    let mut big: Vec<usize> = (0..n)
        .filter(|&i| roots[i] == i && sizes[i] >= min_size)
        .collect();
    if big.is_empty() {
        big = (0..n).filter(|&i| roots[i] == i).collect();
    }
    big.sort_by_key(|&r| std::cmp::Reverse(sizes[r]));
    let want = k.unwrap_or(big.len()).clamp(1, max_k).min(big.len());
    big.truncate(want);
    let labels: Vec<usize> = roots
        .iter()
        .map(|r| big.iter().position(|b| b == r).unwrap_or(usize::MAX))
        .collect();
    let mut c = finish(vectors, labels, want);
    for _ in 0..10 {
        let new: Vec<usize> = vectors.iter().map(|v| nearest(&c.centroids, v)).collect();
        if new == c.labels {
            break;
        }
        c = finish(vectors, new, want);
    }
    c
}

/// Plain average-linkage labels with exactly `min(k, n)` clusters (no outlier handling).
pub fn cut_k(vectors: &[Vec<f32>], k: usize) -> Vec<usize> {
    let n = vectors.len();
    if n <= k.max(1) {
        return (0..n).collect();
    }
    let merges = nn_chain(vectors);
    let (roots, _) = apply(&merges[..n - k.max(1)], n);
    let mut ids: Vec<usize> = Vec::new();
    roots
        .iter()
        .map(|r| match ids.iter().position(|x| x == r) {
            Some(i) => i,
            None => {
                ids.push(*r);
                ids.len() - 1
            }
        })
        .collect()
}

/// Clusters of at least `min_size` vectors left when every average-linkage merge closer than
/// `threshold` is applied (at least 1 when there is a vector), and every merge distance of
/// the dendrogram.
pub fn merge_distances_and_count(
    vectors: &[Vec<f32>],
    threshold: f32,
    min_size: usize,
) -> (usize, Vec<f32>) {
    let n = vectors.len();
    if n < 2 {
        return (n, Vec::new());
    }
    let merges = nn_chain(vectors);
    let applied = merges.iter().take_while(|m| m.dist < threshold).count();
    let count = big_count(&merges[..applied], n, min_size).max(1);
    (count, merges.iter().map(|m| m.dist).collect())
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn nearest(centroids: &[Vec<f32>], v: &[f32]) -> usize {
    (0..centroids.len())
        .max_by(|&i, &j| dot(&centroids[i], v).total_cmp(&dot(&centroids[j], v)))
        .unwrap_or(0)
}

/// Centroids from labels; unlabelled (`usize::MAX`) vectors are then assigned to the nearest.
fn finish(vectors: &[Vec<f32>], mut labels: Vec<usize>, k: usize) -> Clustering {
    let dim = vectors.first().map_or(0, Vec::len);
    let mut centroids = vec![vec![0.0f32; dim]; k];
    for (v, &l) in vectors.iter().zip(&labels) {
        if l < k {
            centroids[l].iter_mut().zip(v).for_each(|(c, x)| *c += x);
        }
    }
    for c in centroids.iter_mut() {
        let norm = dot(c, c).sqrt().max(1e-6);
        c.iter_mut().for_each(|x| *x /= norm);
    }
    for (v, l) in vectors.iter().zip(labels.iter_mut()) {
        if *l >= k {
            *l = nearest(&centroids, v);
        }
    }
    Clustering { labels, centroids }
}

/// Average-linkage dendrogram by the nearest-neighbour chain; merges sorted by distance.
fn nn_chain(vectors: &[Vec<f32>]) -> Vec<Merge> {
    let n = vectors.len();
    let mut d = vec![0.0f32; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let x = 1.0 - dot(&vectors[i], &vectors[j]);
            d[i * n + j] = x;
            d[j * n + i] = x;
        }
    }
    let mut size = vec![1usize; n];
    let mut active = vec![true; n];
    let mut merges = Vec::with_capacity(n - 1);
    let mut chain: Vec<usize> = Vec::new();
    while merges.len() < n - 1 {
        if chain.is_empty() {
            chain.push((0..n).find(|&i| active[i]).unwrap_or(0));
        }
        let a = chain[chain.len() - 1];
        let prev = chain.len().checked_sub(2).map(|i| chain[i]);
        let mut best = (f32::INFINITY, usize::MAX);
        for j in (0..n).filter(|&j| active[j] && j != a) {
            // Prefer the previous chain element on ties so the chain always terminates.
            let dj = d[a * n + j];
            if dj < best.0 || (dj == best.0 && Some(j) == prev) {
                best = (dj, j);
            }
        }
        let b = best.1;
        if Some(b) == prev {
            chain.truncate(chain.len() - 2);
            let (sa, sb) = (size[a] as f32, size[b] as f32);
            for j in (0..n).filter(|&j| active[j] && j != a && j != b) {
                let x = (sa * d[a * n + j] + sb * d[b * n + j]) / (sa + sb);
                d[b * n + j] = x;
                d[j * n + b] = x;
            }
            active[a] = false;
            size[b] += size[a];
            merges.push(Merge { a, b, dist: best.0 });
        } else {
            chain.push(b);
        }
    }
    merges.sort_by(|x, y| x.dist.total_cmp(&y.dist));
    merges
}

/// Union-find roots and sizes after applying `merges`.
fn apply(merges: &[Merge], n: usize) -> (Vec<usize>, Vec<usize>) {
    let mut parent: Vec<usize> = (0..n).collect();
    let mut size = vec![1usize; n];
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for m in merges {
        let (ra, rb) = (find(&mut parent, m.a), find(&mut parent, m.b));
        if ra != rb {
            parent[ra] = rb;
            size[rb] += size[ra];
        }
    }
    let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    (roots, size)
}

/// How many merges to apply: with a known `k`, the most merges that still leave `k`
/// substantial clusters; otherwise every merge closer than `threshold`.
fn choose_cut(
    merges: &[Merge],
    n: usize,
    k: Option<usize>,
    max_k: usize,
    threshold: f32,
    min_size: usize,
) -> usize {
    let Some(k) = k else {
        let by_threshold = merges.iter().take_while(|m| m.dist < threshold).count();
        let mut cut = by_threshold;
        // Never stop with more substantial clusters than max_k.
        while cut < merges.len() && big_count(&merges[..cut], n, min_size) > max_k {
            cut += 1;
        }
        return cut;
    };
    let mut parent_size = vec![1usize; n];
    let mut parent: Vec<usize> = (0..n).collect();
    let mut big = if min_size <= 1 { n } else { 0 };
    let mut best = 0;
    for (t, m) in merges.iter().enumerate() {
        let (ra, rb) = (root(&mut parent, m.a), root(&mut parent, m.b));
        let was =
            usize::from(parent_size[ra] >= min_size) + usize::from(parent_size[rb] >= min_size);
        parent[ra] = rb;
        parent_size[rb] += parent_size[ra];
        big = big + usize::from(parent_size[rb] >= min_size) - was;
        if big >= k {
            best = t + 1;
        }
    }
    best
}

fn root(p: &mut [usize], mut x: usize) -> usize {
    while p[x] != x {
        p[x] = p[p[x]];
        x = p[x];
    }
    x
}

fn big_count(merges: &[Merge], n: usize, min_size: usize) -> usize {
    let (roots, sizes) = apply(merges, n);
    (0..n)
        .filter(|&i| roots[i] == i && sizes[i] >= min_size)
        .count()
}
