-- Every write transaction updates the one warehouse_state row (004_warehouse_state.sql says why).
UPDATE warehouse_state SET writes = writes + 1, last_run_id = ?, updated_at = ? WHERE id = 1;
