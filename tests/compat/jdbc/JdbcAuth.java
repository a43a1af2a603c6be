import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;

/** pgJDBC logs in with SCRAM-SHA-256 (plain and over TLS); a wrong password fails with 28P01. */
public class JdbcAuth {
    static Connection connect(String url, String user, String password, String sslmode) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("sslmode", sslmode);
        return DriverManager.getConnection(url, p);
    }

    public static void main(String[] args) throws Exception {
        String url = args[0], user = args[1], password = args[2];
        for (String mode : new String[] {"disable", "require"}) {
            try (Connection c = connect(url, user, password, mode); ResultSet r = c.createStatement().executeQuery("SELECT current_user")) {
                r.next();
                if (!r.getString(1).equals(user)) throw new AssertionError("current_user " + r.getString(1));
            }
        }
        try {
            connect(url, user, password + "x", "disable").close();
            throw new AssertionError("a wrong password logged in");
        } catch (SQLException e) {
            if (!"28P01".equals(e.getSQLState())) throw new AssertionError("SQLSTATE " + e.getSQLState() + ": " + e.getMessage());
        }
        System.out.println("jdbc auth checks passed");
    }
}
