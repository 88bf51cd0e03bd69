# test_ingress_update_tags.rb -- an Update that edits a status's hashtags and
# mentions stores them as Mastodon's UpdateStatusService does: the status's tags
# are replaced by the edited set (update_tags!), a newly mentioned known account
# gets a mention, and a mention dropped from the edit stays but goes silent
# (update_mentions!: "withdrawing access from someone who already received a
# notification might be more confusing").
require_relative 'ingress_helper'

class IngressUpdateTagsTest < IngressTest
  CAROL = 3

  def tag_names(id)
    rows("SELECT lower(t.name) FROM statuses_tags st JOIN tags t ON t.id = st.tag_id " \
         "WHERE st.status_id = #{id} ORDER BY 1").flatten
  end

  def mentions(id)
    rows("SELECT account_id, silent FROM mentions WHERE status_id = #{id} ORDER BY account_id")
  end

  def test_update_replaces_hashtags_and_mentions
    add_remote(CAROL, 'carol', host: 'remote.example')
    @scotty = start_ingress_scotty
    deliver_and_wait(fixture('create_note_mastodon'))
    id = status_row[0]
    assert_equal %w[harbour photography], tag_names(id), @scotty.log
    assert_equal [[ALICE.to_s, 'f']], mentions(id)

    body = fixture_with('update_note') do |d|
      d['object']['content'] = '<p>Two photos from the harbour at #sunset, for @carol (edited)</p>'
      d['object']['tag'] = [
        { 'type' => 'Mention', 'href' => 'https://remote.example/users/carol', 'name' => '@carol@remote.example' },
        { 'type' => 'Hashtag', 'href' => 'https://remote.example/tags/harbour', 'name' => '#Harbour' },
        { 'type' => 'Hashtag', 'href' => 'https://remote.example/tags/sunset', 'name' => '#Sunset' }
      ]
    end
    deliver_and_wait(body)
    assert_empty retries, @scotty.log
    assert_match(/for @carol/, status_row[2], 'the edit was stored')
    assert_equal %w[harbour sunset], tag_names(id), '#photography dropped, #sunset added'
    assert_equal 1, count('tags', "lower(name) = 'sunset'"), 'the new tag row'
    assert_equal [[ALICE.to_s, 't'], [CAROL.to_s, 'f']], mentions(id),
                 "carol is mentioned now; alice's mention stays, silent"
  end
end
