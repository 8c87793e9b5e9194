//! Our tables: sqlx queries per table, and the migrations that create them.
//! Only this module and `worker::queue` write to the database.

pub mod checkpoints;
pub mod migrate;
pub mod progress;
pub mod results;
pub mod sessions;
