/// The PostgreSQL wire-protocol frontend. Its kind name in `plugins.yaml`.
/// The host registers it once the frontend ships; until then a config that names
/// it is refused with a clear error rather than ignored.
public enum PGWirePlugin {
    public static let kind = "pgwire"
}
