// pgjdbc against switchyard: Statement, a PreparedStatement run past prepareThreshold
// (named server statements, binary results), setFetchSize (portals) and
// DatabaseMetaData. Run as a single-file program: java -cp postgresql.jar JdbcClient.java
import java.sql.*;
import java.util.*;

public class JdbcClient {
    static void check(String label, Object got, Object want) {
        if (!Objects.equals(got, want)) throw new AssertionError(label + ": got " + got + ", want " + want);
        System.out.println("ok  " + label);
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/switchyard?user=tester&sslmode=disable";
        long rows = Long.parseLong(args[2]);
        try (Connection conn = DriverManager.getConnection(url)) {
            check("server major version", conn.getMetaData().getDatabaseMajorVersion(), 15);
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM llm_requests")) {
                rs.next();
                check("count", rs.getLong(1), rows);
            }
            List<String> providers = new ArrayList<>();
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT DISTINCT provider FROM llm_requests ORDER BY 1")) {
                while (rs.next()) providers.add(rs.getString(1));
            }
            // Past the 5th execution pgjdbc switches to a named statement and binary results.
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT count(*), max(cost_usd), min(timestamp) FROM llm_requests WHERE provider = ? AND latency_ms >= ?")) {
                long total = 0;
                for (int i = 0; i < 8; i++) {
                    ps.setString(1, providers.get(i % providers.size()));
                    ps.setLong(2, 0L);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (i < providers.size()) total += rs.getLong(1);
                        if (rs.getDouble(2) <= 0) throw new AssertionError("max(cost_usd) " + rs.getDouble(2));
                        if (rs.getTimestamp(3) == null) throw new AssertionError("timestamp");
                    }
                }
                check("prepared statement, 8 executions", total > 0, true);
            }
            // setFetchSize outside autocommit: a portal read in chunks.
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(100);
                try (ResultSet rs = st.executeQuery("SELECT request_id FROM llm_requests LIMIT 350")) {
                    int n = 0;
                    while (rs.next()) n++;
                    check("fetch size 100 over 350 rows", n, 350);
                }
            }
            conn.commit();
            conn.setAutoCommit(true);
            DatabaseMetaData meta = conn.getMetaData();
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = meta.getTables(null, "public", "%", new String[] {"TABLE"})) {
                while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
            }
            check("getTables", tables.containsAll(List.of("llm_feedback", "llm_requests")), true);
            List<String> columns = new ArrayList<>();
            try (ResultSet rs = meta.getColumns(null, "public", "llm_feedback", "%")) {
                while (rs.next()) columns.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
            }
            check("getColumns", columns,
                  List.of("request_id:text", "metric:text", "value:float8", "created_at:timestamptz"));
        }
        System.out.println("pgjdbc: all checks passed");
    }
}
