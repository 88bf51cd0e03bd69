# test_ingress_media.rb -- attachments of a delivered Create{Note} fetched inline (the
# default, as Mastodon does inside the ingress job) from the fixture origin: the row
# filled by the media pipeline and the files at Mastodon's keys; a download that may
# pass later schedules RedownloadMediaWorker as Mastodon does; an attachment whose
# mediaType is unsupported is never downloaded.
require_relative 'ingress_helper'

class IngressMediaTest < IngressTest
  def setup
    super
    start_origin
    serve_origin_jpegs('photo.jpg')
  end

  # urls: each a URL (sent as image/jpeg) or [URL, mediaType].
  def note_with(urls)
    fixture_with('create_note_mastodon') do |d|
      d['object']['attachment'] = urls.map do |u, type|
        { 'type' => 'Document', 'mediaType' => type || 'image/jpeg', 'url' => u, 'name' => 'a test card' }
      end
      d['object'].delete('inReplyTo')
      d['object'].delete('inReplyToAtomUri')
    end
  end

  def test_inline_fetch_stores_the_files_and_retries_later_what_failed
    # one thread, so one database connection: the inline fetch must not need a second
    # while the ingress job still holds one
    @scotty = start_scotty('-c', '1', '-q', 'ingress', env: db_env)
    base = "http://127.0.0.1:#{@origin_port}"
    deliver_and_wait(note_with(["#{base}/media/photo.jpg", "#{base}/_status/503"]))
    row = status_row
    refute_nil row, @scotty.log
    ids = row[13].split(',')
    assert_equal 2, ids.size
    done = rows("SELECT type, file_file_name, file_content_type, file_storage_schema_version FROM media_attachments " \
                "WHERE id = #{ids[0]}").first
    assert_equal '0', done[0], "the photo is an image now:\n#{@scotty.log}"
    assert_match(/\A[0-9a-f]{16}\.jpe?g\z/, done[1])
    assert_equal 'image/jpeg', done[2]
    assert_equal '1', done[3]
    part = ids[0].scan(/.{3}/).join('/')
    original = File.join(@tmp, 'system', 'cache', 'media_attachments', 'files', part, 'original', done[1])
    assert File.exist?(original), "#{original} missing"
    failed = rows("SELECT type, coalesce(file_file_name, '') FROM media_attachments WHERE id = #{ids[1]}").first
    assert_equal ['3', ''], failed
    redownload = scheduled('RedownloadMediaWorker')
    assert_equal [[ids[1].to_i]], redownload.map { |j| j['args'] }
    at = @redis.zrange('schedule', 0, -1, with_scores: true).find { |j, _| j.include?('RedownloadMediaWorker') }[1]
    assert_operator at - Time.now.to_f, :>=, 20, 'rand(30..600) seconds later'
    assert_operator at - Time.now.to_f, :<=, 600
    assert_equal 1, queued('default', 'DistributionWorker').size
  end

  def test_unsupported_media_type_is_not_downloaded
    File.write(File.join(@origin_root, '127.0.0.1', 'media', 'setup.exe'), "MZ\x90\x00")
    @scotty = start_scotty('-c', '1', '-q', 'ingress', env: db_env)
    base = "http://127.0.0.1:#{@origin_port}"
    deliver_and_wait(note_with([["#{base}/media/setup.exe", 'application/x-msdownload'], "#{base}/media/photo.jpg"]))
    ids = status_row&.at(13)&.split(',')
    refute_nil ids, @scotty.log
    assert_equal ['/media/photo.jpg'], origin_paths, 'only the supported attachment is requested'
    kept = rows("SELECT type, remote_url, concat_ws(',', file_file_name, file_content_type, file_file_size, " \
                "file_updated_at, file_storage_schema_version, thumbnail_file_name) " \
                "FROM media_attachments WHERE id = #{ids[0]}").first
    assert_equal ['3', "#{base}/media/setup.exe", ''], kept, 'the row keeps only remote_url'
    refute_nil rows("SELECT file_file_name FROM media_attachments WHERE id = #{ids[1]}").first.first
    assert_empty scheduled('RedownloadMediaWorker'), 'nothing to retry'
    assert_match(/media #{ids[0]} kept as a remote link: media type application\/x-msdownload is not supported/,
                 @scotty.log)
  end
end
