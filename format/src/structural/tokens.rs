//! Rows tokenized on demand: a delta only looks inside the rows that changed, so the rows of a
//! snapshot are cut into template and numbers the first time they are asked for, once.

use super::template::tokenize;

/// A row's template and numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tokens {
    pub(crate) template: Vec<u8>,
    pub(crate) numbers: Vec<i64>,
}

impl Tokens {
    /// The tokens of `text`.
    pub(crate) fn of(text: &[u8]) -> Self {
        let mut tokens = Self {
            template: Vec::with_capacity(text.len()),
            numbers: Vec::with_capacity(4),
        };
        tokenize(text, &mut tokens.template, &mut tokens.numbers);
        tokens
    }

    /// What a row is matched on: its template and first number (a process's pid).
    pub(crate) fn same_row(&self, other: &Self) -> bool {
        self.template == other.template && self.numbers.first() == other.numbers.first()
    }
}

/// The rows of one snapshot, tokenized when first asked for.
pub(crate) struct LazyRows<'a> {
    rows: &'a [&'a [u8]],
    tokens: Vec<Option<Tokens>>,
}

impl<'a> LazyRows<'a> {
    pub(crate) fn new(rows: &'a [&'a [u8]]) -> Self {
        Self {
            rows,
            tokens: vec![None; rows.len()],
        }
    }

    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Row `i`'s text.
    pub(crate) fn text(&self, i: usize) -> &'a [u8] {
        self.rows[i]
    }

    /// Row `i`'s tokens.
    pub(crate) fn get(&mut self, i: usize) -> &Tokens {
        let rows = self.rows;
        self.tokens[i].get_or_insert_with(|| Tokens::of(rows[i]))
    }

    /// The rows tokenized so far, by index.
    pub(crate) fn known(&self) -> impl Iterator<Item = (usize, &Tokens)> {
        self.tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i, t)))
    }
}
