# test_ingress_shapes.rb -- Create activities in the shapes other servers send
# (GoToSocial, Pleroma/Akkoma, an Article, a PeerTube Video) stored through
# ActivityPub::ProcessingWorker: one status by bob each, with the text Mastodon keeps
# (content, or the converted form for Article/Video), its media rows and follow-ups.
# Misskey's note quotes another (_misskey_quote, quoteUrl): a legacy, pending quote.
require_relative 'ingress_helper'

class IngressShapesTest < IngressTest
  SHAPES = %w[create_note_gotosocial create_note_pleroma create_article create_video_peertube].freeze
  # The remote_url Mastodon's MediaAttachmentParser reads from each fixture's
  # `attachment` (url_to_href: a string, or the href of a Link in an array); the
  # Article has none and the PeerTube Video's icon and url links are not attachments.
  MEDIA = {
    'create_note_gotosocial' => ['https://remote.example/fileserver/01JDQ8YYYY/attachment/original/01JDQ8ZZZZ.jpeg'],
    'create_note_pleroma' => ['https://remote.example/media/8c2f1e0d9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5' \
                              'a4b3c2d.jpg?name=boat.jpg'],
    'create_article' => [], 'create_video_peertube' => []
  }.freeze

  def test_every_shape_is_stored_once
    @scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    SHAPES.each { |name| deliver(fixture(name)) }
    deliver(fixture('create_note_misskey'))
    wait_idle
    assert_equal 0, @redis.llen('queue:ruby_ingress'), @scotty.log
    misskey = status_row(JSON.parse(fixture('create_note_misskey'))['object']['id'])
    refute_nil misskey, "the Misskey quote post is stored\n#{@scotty.log}"
    assert_equal [%w[0 t]], rows("SELECT state, legacy FROM quotes WHERE status_id = #{misskey[0]}"),
                 'a legacy quote (_misskey_quote and quoteUrl, no quote), pending: its quoted note is unknown'
    assert_empty retries, @scotty.log
    SHAPES.each do |name|
      object = JSON.parse(fixture(name))['object']
      row = status_row(object['id'])
      refute_nil row, "#{name} not stored:\n#{@scotty.log}"
      id, account, text = row
      assert_equal BOB.to_s, account, name
      if object['type'] == 'Note'
        expected = object['content'] || object['contentMap'].values.first
        assert_equal expected, text, name
      else
        assert_match(/\A<h2>/, text, "#{name}: converted to <h2>name</h2> + summary + link")
        assert_includes text, object['name'], name
      end
      urls = rows("SELECT remote_url FROM media_attachments WHERE status_id = #{id} ORDER BY id").flatten
      assert_equal MEDIA.fetch(name), urls, "#{name}: one media row per attachment, at its url's href"
      assert_equal urls.size, row[13].to_s.split(',').size, "#{name}: ordered_media_attachment_ids"
      assert_equal 1, queued('default', 'DistributionWorker').count { |j| j['args'][0] == id.to_i }, name
    end
    assert_equal [[(SHAPES.size + 1).to_s]], rows("SELECT statuses_count FROM account_stats WHERE account_id = #{BOB}")
    assert_equal SHAPES.size + 1, activity_stats.dig('Create', 'handled')
  end

  # Mastodon keeps `published` for years 0..9999; year 0000 is 1 BC to PostgreSQL.
  def test_published_in_year_zero_is_stored
    @scotty = start_ingress_scotty
    deliver_and_wait(fixture_with('create_note_mastodon') do |d|
      d['object']['published'] = '0000-06-01T12:00:00Z'
      d['object'].delete('updated')
    end)
    row = status_row
    refute_nil row, @scotty.log
    assert_empty retries
    assert_equal [['0001 BC']], rows("SELECT to_char(created_at, 'YYYY BC') FROM statuses WHERE id = #{row[0]}")
  end
end
