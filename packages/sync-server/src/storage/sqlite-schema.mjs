// @ts-check
// The SQLite schema of `SqliteDocStorage`, created both by the storage thread (sqlite-worker.mjs)
// and by the constructor's first open on the calling thread (which reports a bad data directory
// at once). Plain JavaScript because the thread imports it too (see sqlite-worker.mjs).

// `seq` orders the updates of one document. WITHOUT ROWID clusters rows by (doc, seq), so a
// document's updates are read in one range scan. Equality on `doc` keeps `a` and `a/b` apart.
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS updates (
  doc TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (doc, seq)
) WITHOUT ROWID;
`
