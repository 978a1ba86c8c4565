//! What makes rows of a sketch's output the same kind, which rows fit a
//! description, and what its channels are called.
//!
//! - A plotter row's shape is its fields' labels, by position; a Teleplot
//!   row's is the set of its names.
//! - A row fits a description of its own shape. A row of labels only fits
//!   a description of labels only when its labels are some of the
//!   described ones (a sketch that prints `a:1,c:3` where it printed
//!   `a:…,b:…,c:…`): the missing channels are gaps, as the Arduino IDE 2
//!   plotter keeps a series across lines without it (msgAggregatorWorker.ts
//!   keys values by label). A Teleplot row fits when its names are some of
//!   the described ones.
//! - Channels are named by their labels (plotter) or names (Teleplot);
//!   unlabelled fields by the header of as many names printed before the
//!   data, else `chN` by position (a declared time column not counted).
//!   Where IDE 2 drops an unlabelled value in a labelled line and calls
//!   unlabelled ones `value N`, motiontune keeps every value printed, by
//!   position, as IDE 1.8 does; a label printed twice in a line names a
//!   second channel `label (2)`.

/// What makes two rows the same kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Each field's label, by position.
    Plotter(Vec<Option<String>>),
    /// Names, in the order they first came.
    Teleplot(Vec<String>),
}

impl Shape {
    /// Whether every field is labelled (and none twice).
    fn labelled_set(labels: &[Option<String>]) -> Option<Vec<&str>> {
        let set: Vec<&str> = labels.iter().map(|l| l.as_deref()).collect::<Option<_>>()?;
        let unique = set.iter().enumerate().all(|(i, l)| !set[..i].contains(l));
        unique.then_some(set)
    }

    /// The row `values` (labelled `labels`, a row of this kind of shape)
    /// in the order of this shape's fields, gaps where it has none; `None`
    /// when the row does not fit.
    pub fn fit(&self, labels: &[Option<String>], values: &[f64]) -> Option<Vec<f64>> {
        match self {
            Self::Plotter(described) if described == labels => Some(values.to_vec()),
            Self::Plotter(described) => {
                let described = Self::labelled_set(described)?;
                let row = Self::labelled_set(labels)?;
                let mut out = vec![f64::NAN; described.len()];
                for (label, &value) in row.iter().zip(values) {
                    let at = described.iter().position(|d| d == label)?;
                    out[at] = value;
                }
                Some(out)
            }
            Self::Teleplot(names) => {
                let mut out = vec![f64::NAN; names.len()];
                for (label, &value) in labels.iter().zip(values) {
                    let at = names.iter().position(|n| Some(n) == label.as_ref())?;
                    out[at] = value;
                }
                Some(out)
            }
        }
    }

    /// Fields per row (a declared time column counted).
    pub fn width(&self) -> usize {
        match self {
            Self::Plotter(labels) => labels.len(),
            Self::Teleplot(names) => names.len(),
        }
    }

    /// The channel names, leaving out field `time_index`.
    pub fn channel_names(
        &self,
        header: Option<&[String]>,
        time_index: Option<usize>,
    ) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Self::Teleplot(names) => names.clone(),
            Self::Plotter(labels) => {
                let header = header.filter(|h| h.len() == labels.len());
                (0..labels.len())
                    .filter(|&i| Some(i) != time_index)
                    .enumerate()
                    .map(|(channel, field)| {
                        labels[field]
                            .clone()
                            .or_else(|| header.map(|h| h[field].clone()))
                            .unwrap_or_else(|| format!("ch{}", channel + 1))
                    })
                    .collect()
            }
        };
        for i in 1..names.len() {
            let repeats = names[..i].iter().filter(|n| **n == names[i]).count();
            if repeats > 0 {
                names[i] = format!("{} ({})", names[i], repeats + 1);
            }
        }
        names
    }
}

/// A run of rows of one shape, not yet described.
#[derive(Debug)]
pub struct Candidate {
    /// The shape its rows share.
    pub shape: Shape,
    /// Rows of that shape in a row.
    pub rows: usize,
}

impl Candidate {
    /// Counts a row of `shape`: the run goes on, or a new one starts. A
    /// Teleplot run takes in new names as they come.
    pub fn count(candidate: &mut Option<Self>, shape: Shape) {
        match (candidate.as_mut(), shape) {
            (Some(run), shape) if run.shape == shape => run.rows += 1,
            (Some(run), Shape::Teleplot(names)) if matches!(run.shape, Shape::Teleplot(_)) => {
                if let Shape::Teleplot(known) = &mut run.shape {
                    for name in names {
                        if !known.contains(&name) {
                            known.push(name);
                        }
                    }
                }
                run.rows += 1;
            }
            (_, shape) => *candidate = Some(Self { shape, rows: 1 }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(labels: &[Option<&str>]) -> Vec<Option<String>> {
        labels.iter().map(|l| l.map(str::to_owned)).collect()
    }

    #[test]
    fn rows_fit_their_own_shape_and_labelled_ones_some_of_its_labels() {
        let abc = Shape::Plotter(labels(&[Some("a"), Some("b"), Some("c")]));
        let row = abc.fit(&labels(&[Some("c"), Some("a")]), &[3.0, 1.0]);
        let row = row.expect("a subset fits");
        assert_eq!((row[0], row[2]), (1.0, 3.0));
        assert!(row[1].is_nan());
        assert!(
            abc.fit(&labels(&[Some("a"), Some("d")]), &[1.0, 2.0])
                .is_none()
        );
        assert!(abc.fit(&labels(&[None, Some("a")]), &[1.0, 2.0]).is_none());
        let plain = Shape::Plotter(labels(&[None, None]));
        assert!(plain.fit(&labels(&[None]), &[1.0]).is_none());
        assert_eq!(
            plain.fit(&labels(&[None, None]), &[1.0, 2.0]),
            Some(vec![1.0, 2.0])
        );
    }

    #[test]
    fn channels_are_named_by_label_then_header_then_position() {
        let shape = Shape::Plotter(labels(&[None, Some("sp"), None, Some("sp")]));
        let header: Vec<String> = ["t", "x", "pos", "y"].map(String::from).into();
        assert_eq!(
            shape.channel_names(None, None),
            ["ch1", "sp", "ch3", "sp (2)"]
        );
        assert_eq!(
            shape.channel_names(Some(&header), Some(0)),
            ["sp", "pos", "sp (2)"]
        );
        assert_eq!(
            shape.channel_names(Some(&header[..2]), Some(0)),
            ["sp", "ch2", "sp (2)"]
        );
    }

    #[test]
    fn a_teleplot_run_takes_in_new_names() {
        let mut run = None;
        let names = |n: &[&str]| Shape::Teleplot(n.iter().map(|s| (*s).to_owned()).collect());
        Candidate::count(&mut run, names(&["a"]));
        Candidate::count(&mut run, names(&["a", "b"]));
        Candidate::count(&mut run, names(&["b"]));
        let run = run.expect("a run");
        assert_eq!((run.shape, run.rows), (names(&["a", "b"]), 3));
    }
}
