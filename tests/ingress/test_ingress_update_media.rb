# test_ingress_update_media.rb -- an Update changing a status's attachments handled as
# ActivityPub::ProcessStatusUpdateService#update_media_attachments! does: an added
# attachment is a new row (its file fetched or deferred), one left out keeps its row
# and status_id but leaves ordered_media_attachment_ids, a new order or description
# is a significant change (two status_edits: the version before, then the new one,
# with Status#build_snapshot's ordered ids and descriptions), a focalPoint alone
# updates file_meta without an edit; only the first four attachments count; a failed
# download schedules RedownloadMediaWorker.
require_relative 'ingress_helper'

class IngressUpdateMediaTest < IngressTest
  def setup
    super
    start_origin
    serve_origin_jpegs('p1.jpg', 'p2.jpg', 'p3.jpg', 'p4.jpg', 'p5.jpg')
  end

  def url(name)
    "http://127.0.0.1:#{@origin_port}/media/#{name}.jpg"
  end

  # atts: [name, description] or [name, description, extra attributes].
  def attachments(atts)
    atts.map do |name, desc, extra|
      { 'type' => 'Document', 'mediaType' => 'image/jpeg', 'url' => url(name), 'name' => desc }.merge(extra || {})
    end
  end

  def create_with(atts)
    fixture_with('create_note_mastodon') do |d|
      d['object']['attachment'] = attachments(atts)
      d['object'].delete('inReplyTo')
      d['object'].delete('inReplyToAtomUri')
    end
  end

  # An Update keeping the text, `minute` minutes after the fixture's publication.
  def update_with(atts, minute: 30)
    create = JSON.parse(create_with([]))
    fixture_with('update_note') do |d|
      d['object']['content'] = create['object']['content']
      d['object']['contentMap'] = create['object']['contentMap']
      d['object']['attachment'] = atts.is_a?(Array) && atts.first.is_a?(Hash) ? atts : attachments(atts)
      d['object']['updated'] = format('2026-11-24T18:%02d:00Z', minute)
      d['object'].delete('inReplyTo')
      d['object'].delete('inReplyToAtomUri')
    end
  end

  def media_ids
    status_row[13].split(',')
  end

  def edits(id)
    rows('SELECT array_to_string(ordered_media_attachment_ids, \',\'), ' \
         "array_to_json(media_descriptions)::text, to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS') " \
         "FROM status_edits WHERE status_id = #{id} ORDER BY id")
  end

  def redownloads
    queued('pull', 'RedownloadMediaWorker').map { |j| j['args'] }
  end

  def test_added_attachment_is_a_new_row_and_an_edit
    @scotty = start_ingress_scotty
    deliver_and_wait(create_with([%w[p1 one]]))
    id = status_row[0]
    first = media_ids
    assert_equal 1, first.size, @scotty.log
    deliver_and_wait(update_with([%w[p1 one], %w[p2 two]]))
    assert_empty retries, @scotty.log
    now = media_ids
    assert_equal 2, now.size, @scotty.log
    assert_equal first[0], now[0], 'the kept attachment is the same row'
    assert_equal [[url('p2'), id]], rows("SELECT remote_url, status_id FROM media_attachments WHERE id = #{now[1]}")
    row = status_row
    assert_equal '2026-11-24 18:30:00', row[15], 'edited_at from `updated`'
    assert_equal [[first[0], '["one"]', row[14]], [now.join(','), '["one","two"]', '2026-11-24T18:30:00']],
                 edits(id), 'the version before (at created_at), then the new one (at edited_at)'
    assert_equal [[first[0].to_i], [now[1].to_i]], redownloads.sort, 'only the new file is fetched (deferred here)'
    assert_equal 1, queued('default', 'DistributionWorker').count { |j| j['args'] == [id.to_i, { 'update' => true }] }
  end

  def test_removed_and_reordered_attachments
    @scotty = start_ingress_scotty
    deliver_and_wait(create_with([%w[p1 one], %w[p2 two], %w[p3 three]]))
    id = status_row[0]
    ids = media_ids
    deliver_and_wait(update_with([%w[p3 three], %w[p1 one]]))
    assert_equal [ids[2], ids[0]], media_ids, @scotty.log
    assert_equal 3, count('media_attachments', "status_id = #{id}"), 'the removed row keeps its status_id'
    deliver_and_wait(update_with([%w[p1 one], %w[p3 three]], minute: 40))
    assert_equal [ids[0], ids[2]], media_ids
    assert_equal 3, count('media_attachments'), 'no new rows'
    assert_equal [ids.join(','), "#{ids[2]},#{ids[0]}", "#{ids[0]},#{ids[2]}"], edits(id).map(&:first)
    assert_equal ['["one","two","three"]', '["three","one"]', '["one","three"]'], edits(id).map { |e| e[1] }
    assert_equal '2026-11-24 18:40:00', status_row[15]
    assert_equal 3, redownloads.size, 'the Create\'s three, nothing for the edits'
    # the removed one comes back: the same row, in ordered_media_attachment_ids again
    deliver_and_wait(update_with([%w[p2 two], %w[p1 one]], minute: 50))
    assert_equal [ids[1], ids[0]], media_ids
    assert_equal 3, count('media_attachments')
    assert_equal 4, edits(id).size
  end

  def test_description_change_is_significant_focus_alone_is_not
    @scotty = start_scotty('-c', '1', '-q', 'ingress', env: db_env)
    deliver_and_wait(create_with([%w[p1 before]]))
    id = status_row[0]
    mid = media_ids[0]
    meta = JSON.parse(rows("SELECT file_meta::text FROM media_attachments WHERE id = #{mid}")[0][0])
    assert meta.key?('original'), "the file was fetched inline:\n#{@scotty.log}"
    deliver_and_wait(update_with([['p1', '  after  ', { 'focalPoint' => [0.5, -0.25] }]]))
    assert_equal [mid], media_ids, @scotty.log
    assert_equal 2, edits(id).size, 'a new description is a significant change'
    assert_equal %w[["before"] ["after"]], edits(id).map { |e| e[1] }
    row = rows("SELECT description, file_meta::text FROM media_attachments WHERE id = #{mid}")[0]
    assert_equal 'after', row[0]
    meta = JSON.parse(row[1])
    assert_equal({ 'x' => 0.5, 'y' => -0.25 }, meta['focus'])
    assert meta.key?('original'), 'the stored file\'s meta stays'
    assert_equal ['/media/p1.jpg'], origin_paths, 'a kept attachment is not fetched again'
    deliver_and_wait(update_with([['p1', 'after', { 'focalPoint' => [-1, 1] }]], minute: 40))
    assert_equal 2, edits(id).size, 'a focalPoint alone is not significant'
    assert_equal '2026-11-24 18:30:00', status_row[15], 'edited_at stays'
    meta = JSON.parse(rows("SELECT file_meta::text FROM media_attachments WHERE id = #{mid}")[0][0])
    assert_equal({ 'x' => -1.0, 'y' => 1.0 }, meta['focus'].transform_values(&:to_f))
  end

  def test_new_thumbnail_is_significant_and_fetched
    @scotty = start_scotty('-c', '1', '-q', 'ingress', env: db_env)
    deliver_and_wait(create_with([['p1', 'one', { 'icon' => { 'type' => 'Image', 'url' => url('p2') } }]]))
    id = status_row[0]
    mid = media_ids[0]
    deliver_and_wait(update_with([['p1', 'one', { 'icon' => { 'type' => 'Image', 'url' => url('p3') } }]]))
    assert_equal [mid], media_ids, @scotty.log
    assert_equal [[url('p3')]], rows("SELECT thumbnail_remote_url FROM media_attachments WHERE id = #{mid}")
    assert_equal 2, edits(id).size, 'a new thumbnail is a significant change'
    assert_includes origin_paths, '/media/p3.jpg', "the new thumbnail is fetched:\n#{@scotty.log}"
    refute_nil rows("SELECT thumbnail_file_name FROM media_attachments WHERE id = #{mid}")[0][0]
  end

  def test_misskey_and_pleroma_shaped_updates
    @scotty = start_ingress_scotty
    deliver_and_wait(create_with([%w[p1 one]]))
    id = status_row[0]
    first = media_ids[0]
    misskey = [{ 'type' => 'Document', 'mediaType' => 'image/jpeg', 'url' => url('p1'), 'name' => nil,
                 'sensitive' => false },
               { 'type' => 'Document', 'mediaType' => 'image/jpeg', 'url' => url('p2'), 'name' => 'two',
                 'sensitive' => false }]
    deliver_and_wait(update_with(misskey))
    ids = media_ids
    assert_equal 2, ids.size, @scotty.log
    assert_equal first, ids[0]
    assert_equal 1, count('media_attachments', "id = #{first} AND description IS NULL"), 'a null name clears it'
    assert_equal ['["one"]', '[null,"two"]'], edits(id).map { |e| e[1] }
    pleroma = [{ 'type' => 'Document', 'mediaType' => 'image/jpeg', 'name' => 'three',
                 'url' => [{ 'type' => 'Link', 'mediaType' => 'image/jpeg', 'href' => url('p3') }] }]
    deliver_and_wait(update_with(pleroma, minute: 40))
    assert_equal 1, media_ids.size, @scotty.log
    assert_equal [[url('p3')]], rows("SELECT remote_url FROM media_attachments WHERE id = #{media_ids[0]}")
    assert_equal '["three"]', edits(id).last[1]
  end

  def test_hostile_hundred_attachments_and_a_failing_one
    @scotty = start_scotty('-c', '1', '-q', 'ingress', env: db_env)
    deliver_and_wait(create_with([%w[p1 one]]))
    id = status_row[0]
    many = (1..100).map { |i| { 'type' => 'Document', 'mediaType' => 'image/jpeg', 'url' => url("n#{i}") } }
    many[0]['url'] = "http://127.0.0.1:#{@origin_port}/_status/503"
    deliver_and_wait(update_with(many))
    assert_empty retries, @scotty.log
    ids = media_ids
    assert_equal 4, ids.size, 'Status::MEDIA_ATTACHMENTS_LIMIT'
    assert_equal 5, count('media_attachments'), 'the first four are stored, the rest never'
    assert_equal ["http://127.0.0.1:#{@origin_port}/_status/503", url('n2'), url('n3'), url('n4')],
                 ids.map { |m| rows("SELECT remote_url FROM media_attachments WHERE id = #{m}")[0][0] }
    assert_equal [[ids[0].to_i]], scheduled('RedownloadMediaWorker').map { |j| j['args'] },
                 'the 503 may pass later; the 404s are kept as remote links'
    assert_equal 2, edits(id).size
    # an older Update changing the media again is ignored
    deliver_and_wait(update_with([%w[p5 five]], minute: 10))
    assert_equal ids, media_ids
    assert_equal 2, edits(id).size
  end
end
