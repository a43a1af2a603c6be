import java.math.BigDecimal;
import java.sql.*;
import java.time.*;
import java.util.*;

/**
 * pgJDBC against a running DriftDB: prepared statements with each supported type (text and,
 * past prepareThreshold, server-prepared with binary results), batch insert, transactions
 * with rollback, DatabaseMetaData, and a time-travel query. Exits non-zero on the first
 * mismatch, naming it.
 *
 *   java -cp postgresql.jar:. JdbcCompat jdbc:postgresql://127.0.0.1:PORT/driftdb
 */
public class JdbcCompat {
    static int checks = 0;

    static void check(boolean ok, String what) {
        checks++;
        if (!ok) throw new AssertionError(what);
    }

    static void eq(Object got, Object want, String what) {
        check(Objects.equals(got, want), what + ": got " + got + ", want " + want);
    }

    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.setProperty("user", "driftdb");
        p.setProperty("prepareThreshold", "2");
        try (Connection c = DriverManager.getConnection(args[0], p)) {
            types(c);
            batchAndTransactions(c);
            metadata(c);
            timeTravel(c);
        }
        System.out.println("jdbc: " + checks + " checks passed");
    }

    static void types(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE jt (id int PRIMARY KEY, b boolean, i2 smallint, i8 bigint, f4 real, f8 double precision, " +
                      "n numeric(12,3), t text, vc varchar(20), ch char(3), by bytea, d date, tm time, ts timestamp, tz timestamptz, " +
                      "u uuid, j jsonb, ia int[], ta text[])");
        }
        UUID uuid = UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO jt VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)")) {
            for (int id = 1; id <= 4; id++) {
                ps.setInt(1, id);
                ps.setBoolean(2, id % 2 == 0);
                ps.setShort(3, (short) (id * 10));
                ps.setLong(4, 9_000_000_000L + id);
                ps.setFloat(5, 1.5f * id);
                ps.setDouble(6, 2.25 * id);
                ps.setBigDecimal(7, new BigDecimal("1234.567").add(BigDecimal.valueOf(id)));
                ps.setString(8, "text " + id + " é");
                ps.setString(9, "vc" + id);
                ps.setString(10, "c" + id);
                ps.setBytes(11, new byte[] {1, 2, (byte) id});
                ps.setObject(12, LocalDate.of(2026, 11, id));
                ps.setObject(13, LocalTime.of(10, id, 30));
                ps.setObject(14, LocalDateTime.of(2026, 11, 30, 12, id, 0));
                ps.setObject(15, OffsetDateTime.of(2026, 11, 30, 12, id, 0, 0, ZoneOffset.UTC));
                ps.setObject(16, uuid);
                ps.setString(17, "{\"k\": " + id + "}");
                ps.setArray(18, c.createArrayOf("int4", new Integer[] {id, id + 1}));
                ps.setArray(19, c.createArrayOf("text", new String[] {"a", "b" + id}));
                eq(ps.executeUpdate(), 1, "insert row " + id);
            }
        }
        // Executed more than prepareThreshold times: the last runs are server-prepared and binary.
        try (PreparedStatement ps = c.prepareStatement("SELECT * FROM jt WHERE id = ?")) {
            for (int round = 0; round < 4; round++) {
                for (int id = 1; id <= 4; id++) {
                    ps.setInt(1, id);
                    try (ResultSet r = ps.executeQuery()) {
                        check(r.next(), "row " + id);
                        eq(r.getInt("id"), id, "id");
                        eq(r.getBoolean("b"), id % 2 == 0, "boolean");
                        eq(r.getShort("i2"), (short) (id * 10), "smallint");
                        eq(r.getLong("i8"), 9_000_000_000L + id, "bigint");
                        eq(r.getFloat("f4"), 1.5f * id, "real");
                        eq(r.getDouble("f8"), 2.25 * id, "double");
                        eq(r.getBigDecimal("n"), new BigDecimal("1234.567").add(BigDecimal.valueOf(id)), "numeric");
                        eq(r.getString("t"), "text " + id + " é", "text");
                        eq(r.getString("vc"), "vc" + id, "varchar");
                        eq(r.getString("ch"), "c" + id + " ", "char(3)");
                        eq(Arrays.toString(r.getBytes("by")), Arrays.toString(new byte[] {1, 2, (byte) id}), "bytea");
                        eq(r.getObject("d", LocalDate.class), LocalDate.of(2026, 11, id), "date");
                        eq(r.getObject("tm", LocalTime.class), LocalTime.of(10, id, 30), "time");
                        eq(r.getObject("ts", LocalDateTime.class), LocalDateTime.of(2026, 11, 30, 12, id, 0), "timestamp");
                        eq(r.getObject("tz", OffsetDateTime.class).toInstant(), OffsetDateTime.of(2026, 11, 30, 12, id, 0, 0, ZoneOffset.UTC).toInstant(), "timestamptz");
                        eq(r.getObject("u"), uuid, "uuid");
                        eq(r.getString("j"), "{\"k\": " + id + "}", "jsonb");
                        eq(Arrays.toString((Integer[]) r.getArray("ia").getArray()), "[" + id + ", " + (id + 1) + "]", "int[]");
                        eq(Arrays.toString((String[]) r.getArray("ta").getArray()), "[a, b" + id + "]", "text[]");
                        check(!r.next(), "one row");
                        // RowDescription names the table and column: pgJDBC reads the rest from the catalog.
                        ResultSetMetaData m = r.getMetaData();
                        eq(m.getTableName(1), "jt", "table name of id");
                        eq(m.getColumnName(8), "t", "column name of t");
                        eq(m.isNullable(1), ResultSetMetaData.columnNoNulls, "id is NOT NULL");
                        eq(m.isNullable(2), ResultSetMetaData.columnNullable, "b is nullable");
                    }
                }
            }
        }
    }

    static void batchAndTransactions(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE jb (id int PRIMARY KEY, v text)");
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO jb VALUES (?, ?)")) {
            for (int i = 0; i < 500; i++) {
                ps.setInt(1, i);
                ps.setString(2, "v" + i);
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            eq(counts.length, 500, "batch size");
            check(Arrays.stream(counts).allMatch(n -> n == 1), "every batch row inserted");
        }
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.executeUpdate("DELETE FROM jb WHERE id < 100");
            try (ResultSet r = s.executeQuery("SELECT count(*) FROM jb")) { r.next(); eq(r.getLong(1), 400L, "count inside"); }
            c.rollback();
            try (ResultSet r = s.executeQuery("SELECT count(*) FROM jb")) { r.next(); eq(r.getLong(1), 500L, "count after rollback"); }
            s.executeUpdate("UPDATE jb SET v = 'x' WHERE id = 1");
            c.commit();
        }
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
            try {
                s.executeUpdate("INSERT INTO jb VALUES (1, 'dup')");
                check(false, "duplicate key accepted");
            } catch (SQLException e) {
                eq(e.getSQLState(), "23505", "unique violation SQLSTATE");
            }
        }
    }

    static void metadata(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE jparent (id int PRIMARY KEY, name varchar(30) NOT NULL UNIQUE)");
            s.execute("CREATE TABLE jchild (cid bigserial PRIMARY KEY, pid int REFERENCES jparent(id) ON DELETE CASCADE, note text)");
            s.execute("CREATE INDEX jchild_pid_idx ON jchild (pid)");
        }
        DatabaseMetaData md = c.getMetaData();
        eq(md.getDatabaseProductName(), "PostgreSQL", "product name");
        List<String> tables = new ArrayList<>();
        try (ResultSet r = md.getTables(null, "public", "j%", new String[] {"TABLE"})) {
            while (r.next()) tables.add(r.getString("TABLE_NAME") + ":" + r.getString("TABLE_TYPE"));
        }
        eq(tables, List.of("jb:TABLE", "jchild:TABLE", "jparent:TABLE", "jt:TABLE"), "getTables");
        List<String> cols = new ArrayList<>();
        try (ResultSet r = md.getColumns(null, "public", "jchild", null)) {
            while (r.next()) {
                cols.add(r.getString("COLUMN_NAME") + ":" + r.getString("TYPE_NAME") + ":" + r.getInt("DATA_TYPE") + ":"
                         + r.getString("IS_NULLABLE") + ":" + r.getString("IS_AUTOINCREMENT") + ":" + r.getInt("ORDINAL_POSITION"));
            }
        }
        eq(cols, List.of("cid:bigserial:" + Types.BIGINT + ":NO:YES:1", "pid:int4:" + Types.INTEGER + ":YES:NO:2",
                         "note:text:" + Types.VARCHAR + ":YES:NO:3"), "getColumns");
        List<String> pk = new ArrayList<>();
        try (ResultSet r = md.getPrimaryKeys(null, "public", "jparent")) {
            while (r.next()) pk.add(r.getString("COLUMN_NAME") + ":" + r.getInt("KEY_SEQ") + ":" + r.getString("PK_NAME"));
        }
        eq(pk, List.of("id:1:jparent_pkey"), "getPrimaryKeys");
        List<String> fks = new ArrayList<>();
        try (ResultSet r = md.getImportedKeys(null, "public", "jchild")) {
            while (r.next()) {
                fks.add(r.getString("PKTABLE_NAME") + "." + r.getString("PKCOLUMN_NAME") + "<-" + r.getString("FKCOLUMN_NAME") + ":"
                        + r.getString("FK_NAME") + ":" + r.getString("PK_NAME") + ":" + r.getInt("DELETE_RULE"));
            }
        }
        eq(fks, List.of("jparent.id<-pid:jchild_pid_fkey:jparent_pkey:" + DatabaseMetaData.importedKeyCascade), "getImportedKeys");
        List<String> idx = new ArrayList<>();
        try (ResultSet r = md.getIndexInfo(null, "public", "jparent", false, false)) {
            while (r.next()) {
                idx.add(r.getString("INDEX_NAME") + ":" + r.getBoolean("NON_UNIQUE") + ":" + r.getString("COLUMN_NAME") + ":"
                        + r.getInt("ORDINAL_POSITION") + ":" + r.getString("ASC_OR_DESC"));
            }
        }
        eq(idx, List.of("jparent_name_key:false:name:1:A", "jparent_pkey:false:id:1:A"), "getIndexInfo");
        List<String> schemas = new ArrayList<>();
        try (ResultSet r = md.getSchemas()) { while (r.next()) schemas.add(r.getString("TABLE_SCHEM")); }
        check(schemas.contains("public") && schemas.contains("pg_catalog"), "getSchemas: " + schemas);
    }

    static void timeTravel(Connection c) throws SQLException {
        long seq;
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE jprice (sku text PRIMARY KEY, price int)");
            s.execute("INSERT INTO jprice VALUES ('a', 10)");
            try (ResultSet r = s.executeQuery("SELECT drift_seq FROM jprice WHERE sku = 'a'")) { r.next(); seq = r.getLong(1); }
            s.execute("UPDATE jprice SET price = 12 WHERE sku = 'a'");
            try (ResultSet r = s.executeQuery("SELECT price FROM jprice AS OF @seq:" + seq)) { r.next(); eq(r.getInt(1), 10, "price as of"); }
            try (ResultSet r = s.executeQuery("SELECT price FROM jprice")) { r.next(); eq(r.getInt(1), 12, "price now"); }
        }
    }
}
