# test_media_attach.rb -- remote media attachments end to end: media_attachments rows
# pointing at the fixture origin, RedownloadMediaWorker jobs pushed with Ruby's
# Sidekiq::Client, scotty downloading and processing them in scotty-media children,
# then the rows and the files at Mastodon's keys on the filesystem and in S3 (s3rver,
# which verifies signatures); Mastodon's skips (refused addresses, corrupt or
# over-cap media, reject_media domains, 404) and retries (503); media slots in the
# control socket's stats while a video transcodes.
require_relative '../integration/helper'
require_relative 'media_fixtures'
require_relative '../lib/pg'
require 'net/http'
require 'open3'
require 'socket'

class TestMediaAttach < ScottyTest
  include Harness::PG
  HERE = __dir__
  HOST = '127.0.0.2'.freeze
  ACCOUNT = 42
  FIXTURES = File.join(Dir.tmpdir, "scotty-media-fixtures-#{Process.pid}")
  Minitest.after_run { FileUtils.rm_rf(FIXTURES) }

  def setup
    super
    @tmp = Dir.mktmpdir('scotty-media-test')
    @root = File.join(@tmp, 'system')
    origin_root = File.join(@tmp, 'origin')
    FileUtils.mkdir_p(origin_root)
    File.symlink(MediaFixtures.generate(FIXTURES), File.join(origin_root, HOST))
    psql('TRUNCATE accounts, media_attachments, domain_blocks CASCADE')
    psql('INSERT INTO accounts (id, username, domain, uri, created_at, updated_at) VALUES ' \
         "(#{ACCOUNT}, 'bob', '#{HOST}', 'http://#{HOST}/users/bob', now(), now()), " \
         "(43, 'eve', 'media.blocked.example', 'https://media.blocked.example/users/eve', now(), now())")
    start_origin(origin_root)
    @next_id = 110_000_000_000_000_001
  end

  def teardown
    @origin_in&.close
    Process.wait(@origin_pid) if @origin_pid
    stop_s3
    super
    FileUtils.rm_rf(@tmp)
  end

  def start_origin(root)
    @origin_log = File.join(@tmp, 'origin.jsonl')
    @origin_in, out, @origin_pid = spawn_with_pipes('ruby', File.join(HERE, 'origin.rb'), '--root', root,
                                                    '--bind', HOST, '--log', @origin_log)
    line = Timeout.timeout(20) { out.gets }
    raise "origin.rb did not start: #{line.inspect}" unless line&.start_with?('READY ')

    @port = line.split[1].to_i
  end

  def spawn_with_pipes(*cmd)
    in_r, in_w = IO.pipe
    out_r, out_w = IO.pipe
    pid = Process.spawn(*cmd, in: in_r, out: out_w, err: File.join(@tmp, 'origin.err'))
    in_r.close
    out_w.close
    [in_w, out_r, pid]
  end

  def url(path)
    "http://#{HOST}:#{@port}#{path}"
  end

  # Inserts a media_attachments row as ActivityPub::Activity::Create does (type unknown,
  # file blank) and returns its id.
  def attachment(remote_url, thumbnail: nil, meta: nil, account: ACCOUNT)
    id = @next_id
    @next_id += 1
    psql('INSERT INTO media_attachments (id, account_id, remote_url, thumbnail_remote_url, file_meta, type, ' \
         "created_at, updated_at) VALUES (#{id}, #{account}, #{q(remote_url)}, #{q(thumbnail)}, " \
         "#{meta ? q(JSON.generate(meta)) : 'NULL'}, 3, now(), now())")
    id
  end

  def redownload(id, extra = {})
    Sidekiq::Client.push({ 'class' => 'RedownloadMediaWorker', 'queue' => 'pull', 'args' => [id],
                           'retry' => 3 }.merge(extra))
  end

  def row(id)
    json = psql("SELECT row_to_json(m) FROM media_attachments m WHERE id = #{id}").strip
    JSON.parse(json)
  end

  def db_env
    pg_env.merge('LOCAL_DOMAIN' => 'scotty.test', 'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8',
                 'PAPERCLIP_ROOT_PATH' => @root, 'SCOTTY_HTTP_READ_TIMEOUT' => '2', 'TMPDIR' => @tmp)
  end

  def start_media_scotty(*args, env: {})
    start_scotty('-c', '4', '-q', 'pull', *args, env: db_env.merge(env))
  end

  def wait_idle(seconds = 60)
    wait_until(seconds, "the media jobs to finish\n#{@scottys.last&.log}") do
      @redis.llen('queue:pull').zero? && Sidekiq::Workers.new.size.zero? &&
        @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
  end

  def partition(id)
    id.to_s.rjust(18, '0').scan(/.../).join('/')
  end

  # Mastodon's key of a style (cache/ for remote media with storage schema version 1).
  def key(id, style, name, attachment: 'files')
    "cache/media_attachments/#{attachment}/#{partition(id)}/#{style}/#{name}"
  end

  def stored_files
    Dir.glob(File.join(@root, '**', '*')).select { |f| File.file?(f) }.map { |f| f.delete_prefix("#{@root}/") }
  end

  def ffprobe(path)
    out, st = Open3.capture2('ffprobe', '-v', 'error', '-print_format', 'json', '-show_streams', '-show_format',
                             path)
    assert st.success?, "ffprobe #{path}"
    JSON.parse(out)
  end

  def assert_stored(id, type:, content_type:, ext:, small_ext:)
    r = row(id)
    assert_equal type, r['type'], "type of #{id}"
    assert_match(/\A[0-9a-f]{16}\.#{ext}\z/, r['file_file_name'], 'a random 16-hex name with the type\'s extension')
    assert_equal content_type, r['file_content_type']
    assert_equal 2, r['processing'], 'processing complete'
    assert_equal 1, r['file_storage_schema_version']
    refute_nil r['file_updated_at']
    original = File.join(@root, key(id, 'original', r['file_file_name']))
    assert File.file?(original), "original at Mastodon's key #{original}; stored: #{stored_files}"
    assert_equal r['file_file_size'], File.size(original), 'file_file_size is the stored original'
    if small_ext
      base = r['file_file_name'].sub(/\.[^.]+\z/, '')
      assert File.file?(File.join(@root, key(id, 'small', "#{base}.#{small_ext}"))), "small style of #{id}"
    end
    r
  end

  def test_media_types_stored_at_mastodons_paths
    start_media_scotty
    ids = {
      photo: attachment(url('/photo.jpg'), meta: { 'focus' => { 'x' => 0.5, 'y' => -0.25 } }),
      png: attachment(url('/pic.png'), thumbnail: url('/icon.png')),
      gif: attachment(url('/anim.gif')),
      mp4: attachment(url('/clip.mp4')),
      silent: attachment(url('/silent.mp4')),
      webm: attachment(url('/clip.webm')),
      mp3: attachment(url('/song.mp3'))
    }
    ids.each_value { |id| redownload(id) }
    wait_idle
    log = @scottys[0].log

    photo = assert_stored(ids[:photo], type: 0, content_type: 'image/jpeg', ext: 'jpeg', small_ext: 'jpeg')
    meta = JSON.parse(photo['file_meta'].to_json)
    assert_equal({ 'x' => 0.5, 'y' => -0.25 }, meta['focus'], 'the focal point survives processing')
    assert_equal({ 'width' => 800, 'height' => 600, 'size' => '800x600', 'aspect' => 800.0 / 600 },
                 meta['original'])
    assert_match(/\A[0-9A-Za-z\#$%*+,\-.:;=?@\[\]^_{|}~]{36}\z/, photo['blurhash'], '4x4 blurhash')

    png = assert_stored(ids[:png], type: 0, content_type: 'image/png', ext: 'png', small_ext: 'png')
    assert_match(/\A[0-9a-f]{16}\.png\z/, png['thumbnail_file_name'], 'the remote icon is the thumbnail')
    assert_equal 'image/png', png['thumbnail_content_type']
    assert_equal 1, png['thumbnail_storage_schema_version']
    thumb = File.join(@root, key(ids[:png], 'original', png['thumbnail_file_name'], attachment: 'thumbnails'))
    assert File.file?(thumb), "thumbnail at #{thumb}"
    assert_equal png['thumbnail_file_size'], File.size(thumb)
    assert_equal 400, png['file_meta']['small']['width'], 'small meta is the thumbnail\'s geometry'

    gif = assert_stored(ids[:gif], type: 1, content_type: 'video/mp4', ext: 'mp4', small_ext: 'png')
    assert_equal 'h264', ffprobe(File.join(@root, key(ids[:gif], 'original', gif['file_file_name'])))
      .dig('streams', 0, 'codec_name'), 'an animated GIF becomes an H.264 gifv'

    mp4 = assert_stored(ids[:mp4], type: 2, content_type: 'video/mp4', ext: 'mp4', small_ext: 'png')
    assert_equal '25/1', mp4['file_meta']['original']['frame_rate']
    assert_in_delta 1.0, mp4['file_meta']['original']['duration'], 0.1
    assert_stored(ids[:silent], type: 1, content_type: 'video/mp4', ext: 'mp4', small_ext: 'png')
    webm = assert_stored(ids[:webm], type: 2, content_type: 'video/mp4', ext: 'mp4', small_ext: 'png')
    codecs = ffprobe(File.join(@root, key(ids[:webm], 'original', webm['file_file_name'])))['streams']
             .map { |s| s['codec_name'] }
    assert_equal %w[h264 aac], codecs, 'WebM is transcoded to H.264/AAC'

    mp3 = assert_stored(ids[:mp3], type: 4, content_type: 'audio/mpeg', ext: 'mp3', small_ext: nil)
    assert_match(/\A[0-9a-f]{16}\.png\z/, mp3['thumbnail_file_name'], 'the cover art is the thumbnail')
    assert File.file?(File.join(@root, key(ids[:mp3], 'original', mp3['thumbnail_file_name'],
                                           attachment: 'thumbnails')))
    assert_match(/\A#\h{6}\z/, mp3['file_meta'].dig('colors', 'background'), 'cover colours in file_meta')

    ids.each_value do |id|
      assert_match(/media: attachment #{id} stored: \w+, \d+ bytes downloaded, \d+ stored as .* s, [\d.]+ CPU-s/,
                   log, "one INFO line for attachment #{id}")
    end
    assert_empty retries
    assert_empty Dir.glob(File.join(@tmp, 'scotty-attach-*')), 'temp directories are removed'
  end

  def test_repeated_and_concurrent_downloads_leave_one_set_of_files
    start_media_scotty
    id = attachment(url('/photo.jpg'))
    redownload(id)
    wait_idle
    first = row(id)['file_file_name']
    refute_nil first
    # four processor threads, one media slot: the jobs read the row together, then take
    # turns in the child; the first to finish wins, the others delete what they stored
    Sidekiq::Client.push_bulk('class' => 'RedownloadMediaWorker', 'queue' => 'pull', 'args' => [[id]] * 4)
    wait_idle
    assert_match(/attachment #{id} was stored by another job meanwhile/, @scottys[0].log,
                 'concurrent jobs raced for the row')
    final = row(id)['file_file_name']
    refute_equal first, final, 'RedownloadMediaWorker forces a new download'
    dir = File.join(@root, "cache/media_attachments/files/#{partition(id)}")
    assert_equal [final], Dir.children(File.join(dir, 'original')), 'one original: replaced and losers deleted'
    assert_equal [final], Dir.children(File.join(dir, 'small')), 'one small style'
    assert_empty retries
  end

  def test_skips_and_retries_like_mastodon
    psql("INSERT INTO domain_blocks (domain, severity, reject_media, created_at, updated_at) VALUES " \
         "('blocked.example', 0, true, now(), now())")
    start_media_scotty
    ids = {
      metadata: attachment('http://169.254.169.254/latest/meta-data.png'),
      private: attachment('http://10.1.2.3/a.png'),
      corrupt: attachment(url('/corrupt.mp4')),
      huge: attachment(url('/huge.mp4')),
      gone: attachment(url('/missing.png')),
      blocked: attachment(url('/pic.png'), account: 43),
      local: attachment('')
    }
    unavailable = attachment(url('/_status/503'))
    again = attachment(url('/_status/503'))
    (ids.values + [unavailable]).each { |id| redownload(id) }
    # A third failure (retry_count 1 -> 2), where ExponentialBackoff (175-334 s)
    # and Sidekiq's default (31 s), each plus jitter, are far apart.
    redownload(again, 'retry_count' => 1, 'failed_at' => Time.now.to_f - 60)
    wait_idle
    assert_equal [[unavailable], [again]], retries.map { |j, _| j['args'] }.sort,
                 "only the 503s are retried\n#{@scottys[0].log}"
    log = @scottys[0].log
    ids.each do |what, id|
      r = row(id)
      assert_nil r['file_file_name'], "#{what}: nothing stored"
      assert_equal 3, r['type'], "#{what}: the row keeps type unknown"
      assert_match(/media: attachment #{id} skipped: /, log, "#{what}: the reason is logged")
    end
    assert_match(/attachment #{ids[:metadata]} skipped: .*169\.254\.169\.254/, log)
    assert_match(/attachment #{ids[:private]} skipped: .*10\.1\.2\.3/, log)
    assert_match(/attachment #{ids[:corrupt]} skipped: media (probe|validate) failed/, log)
    assert_match(/attachment #{ids[:huge]} skipped: .*larger/, log)
    assert_match(/attachment #{ids[:gone]} skipped: .*answered 404/, log)
    assert_match(/attachment #{ids[:blocked]} skipped: media from media\.blocked\.example is rejected/, log)
    assert_empty stored_files, 'no object was written'
    assert_empty File.readlines(@origin_log).grep(%r{/pic\.png}), 'media of a reject_media domain is not requested'

    job, score = retries.find { |j, _| j['args'] == [unavailable] }
    assert_equal 'Scotty::MediaDownloadError', job['error_class']
    assert_match(/answered 503/, job['error_message'])
    assert_equal 0, job['retry_count']
    assert_includes Backoff.exponential(0, 8), Backoff.delay_of(job, score), 'ExponentialBackoff at count 0'
    job, score = retries.find { |j, _| j['args'] == [again] }
    assert_equal 2, job['retry_count']
    assert_includes Backoff.exponential(2, 8), Backoff.delay_of(job, score),
                    "ExponentialBackoff at count 2 (Sidekiq's default would give #{Backoff.sidekiq_default(2, 8)})"
    assert_empty Dir.glob(File.join(@tmp, 'scotty-attach-*')), 'temp directories are removed'
  end

  def s3_env(endpoint_port, s3_port)
    { 'S3_ENABLED' => 'true', 'S3_BUCKET' => 'scotty-media', 'S3_REGION' => 'us-east-1',
      'S3_PROTOCOL' => 'http', 'S3_ENDPOINT' => "http://127.0.0.1:#{endpoint_port}",
      'S3_HOSTNAME' => "127.0.0.1:#{s3_port}", 'AWS_ACCESS_KEY_ID' => 'scotty-test-key',
      'AWS_SECRET_ACCESS_KEY' => 'scotty-test-secret', 'SCOTTY_S3_RETRY_BACKOFF_MS' => '10' }
  end

  def test_stored_in_s3
    ports = start_s3
    start_media_scotty(env: s3_env(ports[0], ports[0]))
    image = attachment(url('/photo.jpg'))
    video = attachment(url('/clip.mp4'))
    [image, video].each { |id| redownload(id) }
    wait_idle
    { image => %w[jpeg jpeg], video => %w[mp4 png] }.each do |id, (ext, small_ext)|
      r = row(id)
      assert_match(/\A[0-9a-f]{16}\.#{ext}\z/, r['file_file_name'].to_s, "row #{id}\n#{@scottys[0].log}")
      base = r['file_file_name'].sub(/\.[^.]+\z/, '')
      original = s3_object(key(id, 'original', r['file_file_name']))
      assert File.file?(original), "#{original} in the bucket"
      assert_equal r['file_file_size'], File.size(original)
      assert File.file?(s3_object(key(id, 'small', "#{base}.#{small_ext}"))), 'small style in the bucket'
    end
    assert_empty stored_files, 'nothing on the local filesystem'
  end

  def test_s3_error_is_retried_and_leaves_no_objects
    s3_port, proxy_port = start_s3
    start_media_scotty(env: s3_env(proxy_port, s3_port))
    # the original's PUT passes, the small style's four attempts (S3_RETRY_LIMIT 3) fail
    Net::HTTP.get(URI("http://127.0.0.1:#{proxy_port}/__fault?after=1&count=4"))
    id = attachment(url('/photo.jpg'))
    redownload(id)
    wait_idle
    log = @scottys[0].log
    assert_nil row(id)['file_file_name'], "nothing recorded\n#{log}"
    job, = retries.first
    assert_equal [id], job['args'], 'the job is retried'
    assert_match(/object storage: cannot store cache\/media_attachments\/files\/.*\/small\//, job['error_message'])
    stats = JSON.parse(Net::HTTP.get(URI("http://127.0.0.1:#{proxy_port}/__stats")))
    assert_equal 4, stats['failed'], 'every injected failure was seen'
    assert_equal 'DELETE', stats['lastMethod'], 'the stored original was deleted again'
    assert_empty Dir.glob(File.join(@s3_dir, '**', '*._S3rver_object')), 'no orphaned object in the bucket'
  end

  # This process's cpu cgroup directory for mode 'v2' (the unified hierarchy with the
  # cpu controller) or 'v1' (the cpu hierarchy), or nil when there is none.
  def cpu_cgroup_dir(mode)
    lines = File.readlines('/proc/self/cgroup').map { |l| l.chomp.split(':', 3) }
    if mode == 'v2'
      rel = lines.find { |id, _, _| id == '0' }&.last
      dir = "/sys/fs/cgroup#{rel == '/' ? '' : rel}"
      return rel && File.read("#{dir}/cgroup.controllers").split.include?('cpu') ? dir : nil
    end
    rel = lines.find { |_, ctl, _| ctl.split(',').include?('cpu') }&.last
    rel && ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'].map { |r| r + rel }
                                                                 .find { |d| File.file?("#{d}/cpu.cfs_quota_us") }
  rescue Errno::ENOENT
    nil
  end

  # Which case the README's --media-cpu-quota is in here, found without scotty: v2,
  # else v1, where a group can be created in this process's cpu cgroup; else none.
  def expected_cgroup_mode
    %w[v2 v1].find do |mode|
      dir = cpu_cgroup_dir(mode) or next false
      probe = File.join(dir, "scotty-test-probe-#{Process.pid}")
      Dir.mkdir(probe)
      Dir.rmdir(probe)
      true
    rescue SystemCallError
      false
    end || 'none'
  end

  def test_media_slots_in_stats_while_transcoding
    sock = File.join(@tmp, 'control.sock')
    scotty = start_media_scotty('--media-slots', '1', '--media-cpu-quota', '0.5', '--control', sock)
    assert_match(/media: 1 slot\(s\), 1 thread\(s\) per task, nice 10, CPU quota 0\.50 core\(s\) per task/,
                 scotty.log, 'the quota is accepted and logged')
    maps = File.read("/proc/#{scotty.pid}/maps")
    refute_match(/libav(codec|format|filter)/, maps, 'the worker never maps libav: scotty-media does the media work')
    idle = control(sock, 'stats')
    assert_equal({ 'slots' => 1, 'in_use' => 0, 'waiting' => 0 }, idle['media'].slice('slots', 'in_use', 'waiting'))
    # The sandbox, as this machine permits it (a network namespace needs privileges).
    netns = system('unshare', '-n', 'true', out: File::NULL, err: File::NULL) ? 'network namespace' : 'no network namespace'
    sandbox = "env scrubbed, no capabilities, seccomp allowlist, #{netns}, RLIMIT_FSIZE 512 MB, RLIMIT_NOFILE 64, result line <= 1024 KiB"
    assert_equal({ 'children' => 'fork-server', 'sandbox' => sandbox }, idle['media'].slice('children', 'sandbox'))
    assert_includes scotty.log, "media: task children forked by one fork server; sandbox: #{sandbox}"
    a = attachment(url('/long.mp4'))
    b = attachment(url('/long.mp4'))
    [a, b].each { |id| redownload(id) }
    seen = nil
    wait_until(60, "one transcode running and one waiting for the slot\n#{scotty.log}") do
      m = control(sock, 'stats')['media']
      seen = m if m['in_use'] == 1 && m['waiting'] == 1
      seen
    end
    scottyctl = File.join(File.dirname(ENV.fetch('SCOTTY_BIN')), 'control', 'scottyctl')
    table, st = Open3.capture2(scottyctl, '-s', sock, 'stats')
    assert st.success?, table
    mode = expected_cgroup_mode
    assert_match(/^media slots [01] of 1 in use, [01] waiting  cpu cap via cgroup #{mode}$/, table,
                 "this machine's cpu cgroup case is #{mode}")
    if mode == 'none'
      assert_match(/WARN: media: no CPU quota for media children/, scotty.log, 'none: one WARN line says so')
    else
      assert File.directory?(File.join(cpu_cgroup_dir(mode), 'scotty')),
             "#{mode}: the per-task groups live under <own cpu cgroup>/scotty"
    end
    metrics = control(sock, 'metrics')['text']
    assert_match(/^scotty_media_slots 1$/, metrics)
    assert_match(/^scotty_media_slots_in_use [01]$/, metrics)
    wait_idle(120)
    assert_equal 2, [a, b].count { |id| row(id)['file_file_name'] }, 'both videos stored'
    assert_equal 0, control(sock, 'stats')['media']['in_use']
  end

  def test_stop_kills_a_running_transcode_before_the_deadline
    scotty = start_media_scotty('-t', '1', '--media-cpu-quota', '0.05')
    id = attachment(url('/long.mp4'))
    redownload(id)
    wait_until(30, "the transcode to start\n#{scotty.log}") do
      Dir.glob(File.join(@tmp, 'scotty-attach-*', 'out')).any?
    end
    status = scotty.stop(timeout: 30)
    assert status.success?, "scotty exits cleanly\n#{scotty.log}"
    assert_match(/stopping media children before the shutdown deadline/, scotty.log)
    refute_match(/ignored the shutdown/, scotty.log, 'no job outlived the deadline waiting for its child')
    assert_match(/attachment #{id} to be retried: media task cancelled/, scotty.log)
    assert_nil row(id)['file_file_name'], 'the cancelled transcode stored nothing'
    assert_empty stored_files
  end

  def run_scotty_expecting_failure(*args)
    log = File.join(@tmp, 'refused.log')
    pid = Process.spawn(db_env.merge('REDIS_URL' => @redis_server.url, 'RUNTIME_DIRECTORY' => @tmp),
                        Harness::SCOTTY, '-q', 'pull', *args, err: log, out: log)
    _, status = Timeout.timeout(30) { Process.wait2(pid) }
    refute status.success?, "scotty #{args.join(' ')} must not start"
    File.read(log)
  end

  def test_media_settings_checked_at_start
    assert_match(/cannot start: media: the media child binary .*no-such-scotty-media cannot be run .*--media-exe/,
                 run_scotty_expecting_failure('--media-exe', File.join(@tmp, 'no-such-scotty-media')))
    assert_match(/--media-slots/, run_scotty_expecting_failure('--media-slots', '0'))
    assert_match(/--media-cpu-quota/, run_scotty_expecting_failure('--media-cpu-quota', 'lots'))
  end

  def control(sock, cmd)
    UNIXSocket.open(sock) do |s|
      s.write(JSON.generate('cmd' => cmd) + "\n")
      JSON.parse(s.gets)
    end
  end

  def start_s3
    dir = File.join(@tmp, 's3')
    FileUtils.mkdir_p(dir)
    @s3_dir = File.join(dir, 'data')
    ports_file = File.join(dir, 'ports')
    @s3_pid = Process.spawn('node', File.join(HERE, '../storage/s3_server.js'), @s3_dir, 'scotty-media',
                            'scotty-test-key', 'scotty-test-secret', ports_file, out: File.join(dir, 'log'),
                                                                                 err: File.join(dir, 'log'))
    wait_until(20, 'the S3 server to listen') { File.size?(ports_file) }
    File.read(ports_file).split.map(&:to_i)
  end

  def stop_s3
    return unless @s3_pid

    Process.kill('TERM', @s3_pid)
    Process.wait(@s3_pid)
  end

  # Where s3rver keeps an object's bytes.
  def s3_object(key)
    parts = key.split('/')
    File.join(@s3_dir, 'scotty-media', *parts[0..-2], "#{parts[-1]}._S3rver_object")
  end
end
