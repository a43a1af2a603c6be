/// Roles, passwords, GRANT and row-level security. Its kind name in `plugins.yaml`.
public enum AuthPlugin {
    public static let kind = "auth"
}
