/// Prometheus exposition and the health endpoint. Its kind name in `plugins.yaml`.
public enum MetricsPlugin {
    public static let kind = "metrics"
}
