//! Spreadsheet cells by address: "cell B3" is where column header `B` and row header `3`
//! cross. Grids such as Gnumeric's expose no accessible cells, but their headers are text on
//! screen (OCR reads them), which is all a person uses too.

use crate::error::ActionError;
use crate::geometry::{Point, Rect};
use crate::layout::{LayoutNode, LayoutTree};

/// A cell address: column letters and a 1-based row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellAddress {
    /// Column letters, upper case ("B", "AA").
    pub column: String,
    /// Row number as shown ("3").
    pub row: String,
}

impl CellAddress {
    /// Reads "B3", "b3" or "AA10"; anything else is not an address.
    pub fn parse(text: &str) -> Option<CellAddress> {
        let t = text.trim();
        let split = t.find(|c: char| c.is_ascii_digit())?;
        let (letters, digits) = t.split_at(split);
        let ok = (1..=3).contains(&letters.len())
            && letters.chars().all(|c| c.is_ascii_alphabetic())
            && !digits.is_empty()
            && digits.len() <= 7
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        ok.then(|| CellAddress {
            column: letters.to_ascii_uppercase(),
            row: digits.to_string(),
        })
    }
}

impl std::fmt::Display for CellAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.column, self.row)
    }
}

fn headers<'t>(tree: &'t LayoutTree, text: &str) -> Vec<(Rect, &'t LayoutNode)> {
    tree.walk()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.is_on_screen() && n.name.trim() == text)
        .filter_map(|n| n.bounds.filter(|b| !b.is_empty()).map(|b| (b, n)))
        // A header is a short cell of text, not a window or a panel.
        .filter(|(b, _)| b.height <= 60 && b.width <= 200)
        .collect()
}

/// The desktop point of a cell: the column header's x and the row header's y. The column
/// header must sit above and right of the row header, both in one window; the pair closest
/// to the grid's corner wins. Absent headers are a `NotFound` that says which is missing.
pub fn cell_point(tree: &LayoutTree, cell: &CellAddress) -> Result<Point, ActionError> {
    let columns = headers(tree, &cell.column);
    let rows = headers(tree, &cell.row);
    let missing = |what: &str| {
        ActionError::NotFound(format!(
            "cell {cell}: no {what} is on screen (scroll the sheet so that it shows)"
        ))
    };
    if columns.is_empty() {
        return Err(missing(&format!("column header {:?}", cell.column)));
    }
    if rows.is_empty() {
        return Err(missing(&format!("row header {:?}", cell.row)));
    }
    let window_of = |n: &LayoutNode| {
        tree.root
            .children
            .iter()
            .position(|w| w.find(&n.id).is_some())
    };
    let mut best: Option<(i64, Point)> = None;
    for (cb, cn) in &columns {
        for (rb, rn) in &rows {
            let (c, r) = (cb.center(), rb.center());
            // The column header is on the header row above the row's line, the row header in
            // the header column left of the column.
            if !(c.y < f64::from(rb.y) && r.x < f64::from(cb.x)) || window_of(cn) != window_of(rn) {
                continue;
            }
            let corner = i64::from(cb.y) + i64::from(rb.x);
            if best.is_none_or(|(k, _)| corner < k) {
                best = Some((corner, Point::new(c.x, r.y)));
            }
        }
    }
    best.map(|(_, p)| p).ok_or_else(|| {
        ActionError::NotFound(format!(
            "cell {cell}: text {:?} and {:?} is on screen but not as a sheet's column and row headers",
            cell.column, cell.row
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{NodeSource, NodeState};

    fn label(id: &str, name: &str, b: Rect) -> LayoutNode {
        let mut n = LayoutNode::new(id, "label", NodeSource::Ocr);
        n.name = name.into();
        n.bounds = Some(b);
        n.states = vec![NodeState::Showing, NodeState::Visible];
        n
    }

    #[test]
    fn addresses_parse_and_others_do_not() {
        assert_eq!(
            CellAddress::parse("b3"),
            Some(CellAddress {
                column: "B".into(),
                row: "3".into()
            })
        );
        assert!(CellAddress::parse("AA10").is_some());
        for bad in ["B", "3", "B03", "ABCD1", "B3x", "Save", ""] {
            assert_eq!(CellAddress::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_cell_is_where_its_headers_cross() {
        let mut window = LayoutNode::new("w1", "frame", NodeSource::Display);
        window.bounds = Some(Rect::new(0, 0, 800, 600));
        window.states = vec![NodeState::Showing, NodeState::Visible];
        window.children = vec![
            label("c1", "A", Rect::new(100, 100, 10, 14)),
            label("c2", "B", Rect::new(200, 100, 10, 14)),
            label("r1", "1", Rect::new(20, 130, 8, 14)),
            label("r3", "3", Rect::new(20, 170, 8, 14)),
            // A "3" inside the grid (a value) is not the row header: it is right of B.
            label("v", "3", Rect::new(300, 130, 8, 14)),
        ];
        let mut root = LayoutNode::new("s", "screen", NodeSource::Display);
        root.children = vec![window];
        let tree = LayoutTree { root };
        let p = cell_point(&tree, &CellAddress::parse("B3").unwrap()).unwrap();
        assert_eq!(p, Point::new(205.0, 177.0));
        let err = cell_point(&tree, &CellAddress::parse("C3").unwrap()).unwrap_err();
        assert!(err.to_string().contains("column header \"C\""), "{err}");
    }
}
