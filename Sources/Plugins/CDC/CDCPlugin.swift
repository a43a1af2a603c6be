/// Change data capture to Kafka. Its kind name in `plugins.yaml`.
public enum CDCPlugin {
    public static let kind = "cdc"
}
