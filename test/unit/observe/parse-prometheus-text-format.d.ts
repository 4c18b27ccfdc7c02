/** Types for parse-prometheus-text-format (it ships none): families of metrics, as parsed. */
declare module 'parse-prometheus-text-format' {
  /** Parses Prometheus text exposition; throws on an invalid line. */
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
