-- Each host's package names for re-matching move from one row per key in
-- host_packages to one text column of the host. A host's first upload wrote
-- about 1,500 rows into an index ordered by package name, each in a
-- different page, and that made it the slowest write of the server.

-- The release key of the host's last matched upload, such as 'debian:12'.
ALTER TABLE hosts ADD COLUMN package_release TEXT;
-- Its binary and source package names, sorted, one per line. Re-matching
-- looks each name up as both a binary and a source package.
ALTER TABLE hosts ADD COLUMN package_names TEXT;

-- The names are not copied from host_packages: a host whose names are
-- unknown is matched again after any advisory database change, and that
-- match stores them, as does the host's next upload. Every upload that
-- stores a new inventory writes the host row anyway, so the digest that
-- let an upload skip rewriting host_packages goes.
DROP TABLE host_packages;
ALTER TABLE hosts DROP COLUMN package_names_sha256;
