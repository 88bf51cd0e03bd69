# test_media_cleanup.rb -- Scotty::MediaCacheCleanup against PostgreSQL with
# Mastodon's schema and real object storage (filesystem, or S3 when run under
# run_s3_test.sh): old cached remote media lose their objects and file columns,
# newer, local and recently re-fetched media stay; a dry run changes nothing; a run
# that fails mid-way resumes after its last complete batch. Keys are computed here
# from Mastodon's layout (mastodon.md §4.7), independently of scotty's code.
require_relative '../integration/helper'
require_relative '../lib/pg'
require 'open3'
require 'net/http'

class MediaCleanupTest < ScottyTest
  include Harness::PG
  DAY = 86_400
  STORE = ENV.fetch('MAINT_STORE_BIN')
  S3 = ENV['S3_ENABLED'] == 'true'

  # A snowflake id for a row created `age` seconds ago (mastodon.md §5.2).
  def snowflake(age, seq)
    (((Time.now.to_i - age) * 1000) << 16) + seq
  end

  def id_partition(id)
    format(id < 1_000_000_000 ? '%09d' : '%012d', id).scan(/\d{3}/).join('/')
  end

  def key(id, attachment, style, file, cached)
    "#{cached ? 'cache/' : ''}media_attachments/#{attachment}/#{id_partition(id)}/#{style}/#{file}"
  end

  def store_put(keys)
    out, st = Open3.capture2e(STORE, 'put', *keys)
    assert st.success?, out
  end

  def existing(keys)
    out, st = Open3.capture2e(STORE, 'exists', *keys)
    assert st.success?, out
    keys.zip(out.split.map { |v| v == '1' }).select(&:last).map(&:first)
  end

  # Inserts one media_attachments row and stores its objects; returns [id, keys].
  def media(age:, seq:, type: 0, remote: true, file: 'abcdef0123456789.jpeg', small: nil, schema: 1,
            thumb: nil, updated_age: age, size: 1000)
    id = snowflake(age, seq)
    base = file ? File.basename(file, '.*') : "never-stored-#{seq}"
    keys = file ? [key(id, 'files', 'original', file, remote && schema >= 1)] : []
    keys << key(id, 'files', 'small', small || file, remote && schema >= 1) if file && small != false
    keys << key(id, 'thumbnails', 'original', thumb, remote) if thumb
    sql_file = file ? "'#{file}', 'image/jpeg', #{size}, now()" : 'NULL, NULL, NULL, NULL'
    sql_thumb = thumb ? "'#{thumb}', 'image/png', 100, now(), 1" : 'NULL, NULL, NULL, NULL, NULL'
    psql('INSERT INTO media_attachments (id, account_id, type, remote_url, file_file_name, file_content_type, ' \
         'file_file_size, file_updated_at, file_storage_schema_version, thumbnail_file_name, ' \
         'thumbnail_content_type, thumbnail_file_size, thumbnail_updated_at, thumbnail_storage_schema_version, ' \
         'created_at, updated_at) VALUES ' \
         "(#{id}, 1, #{type}, '#{remote ? "https://remote.example/#{base}" : ''}', #{sql_file}, #{schema}, " \
         "#{sql_thumb}, now() - interval '#{age} seconds', now() - interval '#{updated_age} seconds')")
    store_put(keys) unless keys.empty?
    [id, keys]
  end

  def row(id)
    psql("SELECT file_file_name, file_content_type, file_file_size, file_updated_at, thumbnail_file_name, " \
         "thumbnail_content_type, thumbnail_file_size, thumbnail_updated_at, remote_url " \
         "FROM media_attachments WHERE id = #{id}").strip.split('|', -1)
  end

  def setup
    super
    psql('DROP TRIGGER IF EXISTS maint_fail ON media_attachments')
    psql('TRUNCATE accounts, media_attachments CASCADE')
    psql("INSERT INTO accounts (id, username, domain, created_at, updated_at) " \
         "VALUES (1, 'bob', 'remote.example', now(), now())")
  end

  def start
    env = %w[DB_HOST DB_PORT DB_NAME DB_USER S3_ENABLED S3_BUCKET S3_REGION S3_PROTOCOL S3_ENDPOINT S3_HOSTNAME
             AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY PAPERCLIP_ROOT_PATH SCOTTY_S3_RETRY_BACKOFF_MS]
          .to_h { |k| [k, ENV[k]] }.compact
    @scotty = start_scotty('-c', '2', '-q', 'default', env: env)
  end

  def cleanup(args = [])
    Sidekiq::Client.push('class' => 'Scotty::MediaCacheCleanup', 'queue' => 'default', 'args' => args)
  end

  def wait_log(pattern, what)
    wait_until(60, "#{what}\n#{@scotty&.log}") { @scotty.log.match?(pattern) }
    @scotty.log[pattern]
  end

  # The mix every test starts from: three old cached rows (image with thumbnail,
  # legacy video without cache/, audio with cover) and four that must stay.
  def seed
    @old = [
      media(age: 30 * DAY, seq: 1, thumb: '1111222233334444.png', size: 5000),
      media(age: 20 * DAY, seq: 2, type: 2, file: '00000000deadbeef.mp4', small: '00000000deadbeef.png',
            schema: 0, size: 7000),
      media(age: 10 * DAY, seq: 3, type: 4, file: 'feedfacefeedface.mp3', small: false,
            thumb: 'cafecafecafecafe.png', size: 3000)
    ]
    @kept = [
      media(age: 2 * DAY, seq: 4),                                  # newer than 7 days
      media(age: 30 * DAY, seq: 5, remote: false),                  # local upload
      media(age: 30 * DAY, seq: 6, file: nil),                      # remote, never stored
      media(age: 30 * DAY, seq: 7, updated_age: DAY)                # fetched again yesterday
    ]
  end

  def old_keys = @old.flat_map(&:last)
  def kept_keys = @kept.flat_map(&:last)

  def test_cleanup_deletes_objects_and_clears_columns
    seed
    assert_equal 7, old_keys.size
    assert_equal old_keys, existing(old_keys), 'objects seeded'
    start
    cleanup
    summary = wait_log(/media cache cleanup done: .*/, 'the cleanup summary')
    assert_match(/: 3 rows, 7 objects deleted, 15200 bytes \(0\.0 MiB\) freed, .* retention 7 days/, summary)
    assert_empty existing(old_keys), 'cached objects of old remote media are deleted'
    assert_equal kept_keys, existing(kept_keys), 'newer, local and re-fetched media keep their objects'
    @old.each do |id, _|
      f = row(id)
      assert_equal ['', '', '', '', '', '', '', ''], f[0, 8], "file and thumbnail columns of #{id} cleared"
      assert_match %r{\Ahttps://remote\.example/}, f[8], 'remote_url stays so the media can be fetched again'
    end
    @kept.each { |id, keys| refute_equal '', row(id)[0], "row #{id} untouched" unless keys.empty? }
    assert_nil @redis.get('scotty:media_cleanup:cursor'), 'a finished run leaves no cursor'
    assert_nil @redis.get('scotty:media_cleanup:lock'), 'the lock is released'
    unless S3
      root = ENV.fetch('PAPERCLIP_ROOT_PATH')
      assert old_keys.none? { |k| File.exist?(File.join(root, k)) }, 'files are gone from the disk'
      assert kept_keys.all? { |k| File.exist?(File.join(root, k)) }, 'kept files are on the disk'
    end
  end

  def test_dry_run_changes_nothing
    seed
    before = (@old + @kept).map { |id, _| row(id) }
    start
    cleanup([{ 'dry_run' => true, 'days' => 15 }])
    summary = wait_log(/media cache cleanup \(dry run\) done: .*/, 'the dry-run summary')
    assert_match(/: 2 rows, 5 objects would be deleted, 12100 bytes .* would be freed, .* retention 15 days/,
                 summary)
    assert_equal old_keys + kept_keys, existing(old_keys + kept_keys), 'a dry run deletes nothing'
    assert_equal before, (@old + @kept).map { |id, _| row(id) }, 'a dry run changes no row'
    assert_nil @redis.get('scotty:media_cleanup:cursor')
  end

  def test_failed_run_resumes_after_its_last_complete_batch
    rows = (1..12).map { |i| media(age: 30 * DAY, seq: i) }
    ids = rows.map(&:first)
    # The third batch of five fails when its columns are cleared.
    psql('CREATE FUNCTION maint_fail() RETURNS trigger LANGUAGE plpgsql AS ' \
         "$$BEGIN RAISE EXCEPTION 'injected failure for %', OLD.id; END$$")
    psql("CREATE TRIGGER maint_fail BEFORE UPDATE ON media_attachments FOR EACH ROW WHEN (OLD.id = #{ids[11]}) " \
         'EXECUTE FUNCTION maint_fail()')
    start
    cleanup([{ 'batch' => 5 }])
    wait_until(60, "the failed run in the retry set\n#{@scotty.log}") { @redis.zcard('retry') == 1 }
    failed = JSON.parse(@redis.zrange('retry', 0, 0).first)
    assert_equal 'ActiveRecord::StatementInvalid', failed['error_class']
    assert_match(/injected failure.*the next run resumes after id #{ids[9]}\)/m, failed['error_message'])
    @redis.del('retry')
    assert_equal ids[9].to_s, @redis.get('scotty:media_cleanup:cursor'), 'cursor at the last complete batch'
    ids[0, 10].each { |id| assert_equal '', row(id)[0], "row #{id} of a complete batch cleared" }
    ids[10, 2].each { |id| refute_equal '', row(id)[0], "row #{id} of the failed batch not cleared" }

    # A row before the cursor gets its file back: a resumed run must not look at it.
    psql("UPDATE media_attachments SET file_file_name = 'abcdef0123456789.jpeg' WHERE id = #{ids[0]}")
    psql('DROP TRIGGER maint_fail ON media_attachments')
    cleanup([{ 'batch' => 5 }])
    wait_log(/media cache cleanup: .*resuming after a run that stopped early/, 'the resumed start line')
    summary = wait_log(/media cache cleanup done: .*/, 'the resumed summary')
    assert_match(/: 2 rows, 4 objects deleted/, summary)
    ids[10, 2].each { |id| assert_equal '', row(id)[0], "row #{id} cleared by the resumed run" }
    assert_empty existing(rows[10, 2].flat_map(&:last))
    refute_equal '', row(ids[0])[0], 'the resumed run started after the cursor, not from the beginning'
    assert_nil @redis.get('scotty:media_cleanup:cursor'), 'the finished run reset the cursor'
  end

  def test_storage_error_fails_the_job_and_keeps_the_cursor
    skip 'the fault-injecting proxy is in front of the test S3 server only' unless S3
    rows = (1..6).map { |i| media(age: 30 * DAY, seq: i) }
    ids = rows.map(&:first)
    start
    # The first batch's six deletes pass, then S3 answers 500 (more times than retries).
    Net::HTTP.get(URI("http://127.0.0.1:#{ENV.fetch('STORAGE_S3_PROXY_PORT')}/__fault?count=40&after=6"))
    cleanup([{ 'batch' => 3 }])
    wait_until(60, "the failed run in the retry set\n#{@scotty.log}") { @redis.zcard('retry') == 1 }
    Net::HTTP.get(URI("http://127.0.0.1:#{ENV.fetch('STORAGE_S3_PROXY_PORT')}/__fault?count=0"))
    failed = JSON.parse(@redis.zrange('retry', 0, 0).first)
    assert_equal 'Scotty::StorageError', failed['error_class']
    assert_match(/media attachment #{ids[3]}: cannot delete .*the next run resumes after id #{ids[2]}\)/m,
                 failed['error_message'])
    assert_equal ids[2].to_s, @redis.get('scotty:media_cleanup:cursor')
    ids[0, 3].each { |id| assert_equal '', row(id)[0], "row #{id} of the complete batch cleared" }
    ids[3, 3].each { |id| refute_equal '', row(id)[0], "row #{id} of the failed batch kept" }
    assert_equal rows[3, 3].flat_map(&:last), existing(rows[3, 3].flat_map(&:last))
  end

  def test_bad_arguments_fail_the_job
    start
    cleanup([{ 'dry-run' => true }])
    wait_until(30, "the job in the retry set\n#{@scotty.log}") { @redis.zcard('retry') == 1 }
    failed = JSON.parse(@redis.zrange('retry', 0, 0).first)
    assert_equal 'ArgumentError', failed['error_class']
    assert_match(/"dry-run" is not one of days/, failed['error_message'])
  end
end
