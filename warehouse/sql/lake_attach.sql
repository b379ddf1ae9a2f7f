-- Attach a DuckLake (docs/warehouse.md, "DuckLake"). ATTACH takes no bound parameters, so
-- warehouse/lake.py fills in {catalog} and {data_path} as SQL string literals it validated
-- and quoted itself; {alias} is a constant and {read_only} one of two fixed texts.
ATTACH {catalog} AS {alias} (DATA_PATH {data_path}{read_only})
