//! SQL text both dialects write alike, but for their placeholders (`?1` or `$1`), which the
//! store passes in as `placeholder(column, n)`.

/// The names in a column list `"a, b, c"`.
pub fn names(columns: &str) -> Vec<&str> {
    columns.split(", ").collect()
}

/// One placeholder for each of `columns`, numbered from 1: `?1, ?2, …`.
pub fn placeholders(columns: &str, placeholder: impl Fn(&str, usize) -> String) -> String {
    names(columns)
        .iter()
        .enumerate()
        .map(|(i, c)| placeholder(c, i.saturating_add(1)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `UPDATE` of every column of a row found by its first column (the key), the values bound
/// in the columns' order.
pub fn update(table: &str, columns: &str, placeholder: impl Fn(&str, usize) -> String) -> String {
    let names = names(columns);
    let sets: Vec<String> = names
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = {}", placeholder(c, i.saturating_add(1))))
        .collect();
    format!(
        "UPDATE {table} SET {} WHERE {} = {}",
        sets.join(", "),
        names.first().copied().unwrap_or_default(),
        placeholder("", 1)
    )
}

/// `INSERT` of every column, updating every column but the first (the key) on conflict.
pub fn upsert(table: &str, columns: &str, placeholder: impl Fn(&str, usize) -> String) -> String {
    let names = names(columns);
    let updates: Vec<String> = names
        .iter()
        .skip(1)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} ({columns}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        placeholders(columns, placeholder),
        names.first().copied().unwrap_or_default(),
        updates.join(", ")
    )
}

/// The condition that selects the account (`a`) holding external id `placeholder(2)` in
/// system `placeholder(1)`.
pub fn by_external_id(placeholder: impl Fn(&str, usize) -> String) -> String {
    format!(
        "a.id = (SELECT account FROM external_ids WHERE system = {} AND external_id = {})",
        placeholder("system", 1),
        placeholder("external_id", 2)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(_: &str, n: usize) -> String {
        format!("?{n}")
    }

    #[test]
    fn statements_number_their_placeholders_in_column_order() {
        assert_eq!(
            upsert("metrics", "id, aggregation", question),
            "INSERT INTO metrics (id, aggregation) VALUES (?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET aggregation = excluded.aggregation"
        );
        assert_eq!(
            update("accounts", "id, name, state", question),
            "UPDATE accounts SET name = ?2, state = ?3 WHERE id = ?1"
        );
    }
}
