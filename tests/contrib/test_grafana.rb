# test_grafana.rb -- contrib/grafana/scotty.json against a real scotty: the file is strict
# JSON (Ruby's parser and jq) shaped as Grafana imports it; every metric its queries and
# variables name is in the /metrics output of a running scotty (and every label they
# group or filter by, but Prometheus's own instance and job); that output passes
# `promtool check metrics`; and a real Prometheus scraping that scotty evaluates every
# query without error, with data wherever the metrics it reads have samples.
require_relative '../ingress/ingress_helper'
require 'net/http'
require 'open3'
require 'uri'

DASHBOARD = File.expand_path('../../contrib/grafana/scotty.json', __dir__)

# PromQL words that are not metric names.
PROMQL_WORDS = %w[sum max min avg count rate irate increase delta by without on ignoring group_left
                  group_right and or unless offset bool topk bottomk histogram_quantile clamp_min
                  clamp_max label_values time vector scalar abs].freeze
# Labels Prometheus adds when it scrapes.
SCRAPE_LABELS = %w[instance job].freeze

# An IngressTest: its PostgreSQL accounts let a real activity reach scotty_activities_total.
class GrafanaDashboardTest < IngressTest
  def setup
    super
    @dash = JSON.parse(File.read(DASHBOARD))
    @gdir = Dir.mktmpdir('scotty-grafana')
  end

  def teardown
    Harness.stop_process(@prom) if @prom
    FileUtils.rm_rf(@gdir)
    super
  end

  def panels
    @dash['panels'].reject { |p| p['type'] == 'row' }
  end

  # Every query: the panels' targets and the query variables.
  def queries
    panels.flat_map { |p| p['targets'].map { |t| t['expr'] } } +
      @dash['templating']['list'].select { |v| v['type'] == 'query' }.map { |v| v['definition'] }
  end

  # [metric names, label names] one PromQL expression uses.
  def parse_promql(expr)
    labels = []
    rest = expr.gsub(/\{([^}]*)\}/) do
      labels.concat(Regexp.last_match(1).scan(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/).flatten)
      ' '
    end
    rest = rest.gsub(/\[[^\]]*\]/, ' ').gsub(/"[^"]*"/, ' ')
    rest = rest.gsub(/\b(by|without)\s*\(([^)]*)\)/) do
      labels.concat(Regexp.last_match(2).split(',').map(&:strip))
      ' '
    end
    rest = rest.sub(/label_values\((\w+),\s*(\w+)\)/) do
      labels << Regexp.last_match(2)
      Regexp.last_match(1)
    end
    words = rest.scan(/[a-zA-Z_:][\w:]*/) - PROMQL_WORDS
    [words.reject { |w| w.start_with?('__') }.uniq, labels.uniq]
  end

  # A running scotty's exposition after one job, with the names and labels in it.
  def scrape_scotty
    @port = Harness.free_port
    start_ingress_scotty('-q', 'default', '-q', 'push', '--metrics-listen', "127.0.0.1:#{@port}")
    Sidekiq::Client.push('class' => 'Scotty::Diag::Noop', 'queue' => 'default', 'args' => [], 'retry' => false)
    deliver(fixture('create_note_mastodon'))
    text = nil
    s = @scottys.last
    wait_until(60, -> { "both jobs in the metrics\n#{text}\n#{s.log}" }) do
      text = Net::HTTP.get(URI("http://127.0.0.1:#{@port}/metrics"))
      text.match?(/^sidekiq_jobs_total\{job_name="Scotty::Diag::Noop",queue="default"\} 1$/) &&
        text.match?(/^scotty_activities_total\{type="Create",outcome="handled"\} 1$/)
    rescue SystemCallError # the listener opens after the first heartbeat
      false
    end
    families = text.scan(/^# TYPE (\S+) /).flatten
    sampled = text.scan(/^([a-zA-Z_:][\w:]*)[{ ]/).flatten.uniq
    labels = text.scan(/[{,]([a-zA-Z_]\w*)="/).flatten.uniq
    [text, families | sampled, sampled, labels]
  end

  def test_dashboard_is_strict_json_in_grafana_shape
    out, st = Open3.capture2e('jq', 'empty', DASHBOARD)
    assert st.success?, "jq refuses the dashboard: #{out}"
    assert_equal 'scotty', @dash['title']
    refute_empty @dash['uid'].to_s
    ids = @dash['panels'].map { |p| p['id'] }
    assert_equal ids.uniq, ids, 'panel ids must be unique'
    panels.each do |p|
      g = p['gridPos']
      assert g['x'] >= 0 && g['w'].positive? && g['x'] + g['w'] <= 24, "#{p['title']} is off the 24-column grid"
      assert_equal '${datasource}', p.dig('datasource', 'uid'), "#{p['title']} must use the datasource variable"
      refute_empty p['targets'], "#{p['title']} has no query"
      refs = p['targets'].map { |t| t['refId'] }
      assert_equal refs.uniq, refs, "#{p['title']} repeats a refId"
    end
    ds = @dash['templating']['list'].find { |v| v['name'] == 'datasource' }
    assert_equal %w[datasource prometheus], [ds['type'], ds['query']]
    # The overview, queues, jobs, latency and media are all there.
    %w[Queues Latency Media].each { |r| assert(@dash['panels'].any? { |p| p['type'] == 'row' && p['title'] == r }, r) }
  end

  def test_queries_name_only_what_a_real_scotty_exposes
    text, names, _sampled, labels = scrape_scotty
    out, st = Open3.capture2e('promtool', 'check', 'metrics', stdin_data: text)
    assert st.success?, "promtool check metrics failed:\n#{out}"
    used = queries.map { |q| parse_promql(q) }
    metrics = used.flat_map(&:first).uniq
    # What the dashboard is about must be there at all.
    %w[sidekiq_queue_backlog sidekiq_queue_latency_seconds sidekiq_jobs_total sidekiq_failed_jobs_total
       scotty_activities_total sidekiq_job_duration_seconds scotty_media_slots_in_use].each do |m|
      assert_includes metrics, m
    end
    missing = metrics - names
    assert_empty missing, "the dashboard queries metrics scotty does not expose: #{missing}\n#{text}"
    unknown = used.flat_map(&:last).uniq - labels - SCRAPE_LABELS
    assert_empty unknown, "the dashboard uses labels scotty does not expose: #{unknown}"
  end

  def test_a_real_prometheus_evaluates_every_query
    _text, _names, sampled, = scrape_scotty
    prom_port = Harness.free_port
    File.write(File.join(@gdir, 'prometheus.yml'), <<~YAML)
      global:
        scrape_interval: 1s
      scrape_configs:
        - job_name: scotty
          static_configs:
            - targets: ['127.0.0.1:#{@port}']
    YAML
    log = File.join(@gdir, 'prometheus.log')
    @prom = Process.spawn('prometheus', "--config.file=#{File.join(@gdir, 'prometheus.yml')}",
                          "--storage.tsdb.path=#{File.join(@gdir, 'data')}",
                          "--web.listen-address=127.0.0.1:#{prom_port}", out: log, err: log)
    query = lambda do |q|
      uri = URI("http://127.0.0.1:#{prom_port}/api/v1/query")
      uri.query = URI.encode_www_form(query: q)
      JSON.parse(Net::HTTP.get(uri))
    rescue SystemCallError, JSON::ParserError
      nil
    end
    # Enough scrapes for rate() over the window the queries get.
    wait_until(120, "Prometheus to scrape scotty a few times\n#{File.read(log)[-2000..]}") do
      r = query.call('count_over_time(scotty_uptime_seconds[1m])')
      r && r['status'] == 'success' && r['data']['result'].any? { |s| s['value'][1].to_i >= 4 }
    end
    queries.each do |q|
      metrics, = parse_promql(q)
      next if q.start_with?('label_values(')

      expr = q.gsub('$__rate_interval', '1m').gsub('$instance', '.*').gsub('$queue', '.*')
      r = query.call(expr)
      assert_equal 'success', r && r['status'], "Prometheus refused #{expr}: #{r.inspect}"
      next unless (metrics - sampled).empty?

      refute_empty r['data']['result'], "no data for #{expr}, though scotty exposes samples of #{metrics}"
    end
  end
end
