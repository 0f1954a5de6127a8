"""Every agent or admin read of a transcript, a customer record or an export is in the audit log (who, what,
when), which admins read through the API (and the admin page).

Exploit first (fails on the old main): nothing recorded who read a transcript; /api/admin/audit was 404.
"""

from __future__ import annotations

import json

import httpx
import websockets

from tests.chat.client import ChatClient, start_session


async def test_reads_of_transcripts_customer_records_and_exports_are_audited(live_server, staff, customer):
    chat = await ChatClient.open(live_server.ws_url, await start_session(live_server.url, customer["id"]))
    await chat.say("hello")
    await chat.close()
    sid = chat.session["session_id"]
    agent, admin = staff["agent"], staff["admin"]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        (await http.get(f"/api/agent/sessions/{sid}/transcript", headers=agent.headers)).raise_for_status()
        (await http.get(f"/api/agent/sessions/{sid}/shopper", headers=agent.headers)).raise_for_status()
        (await http.get(f"/api/admin/customers/{customer['id']}/export", headers=admin.headers)).raise_for_status()
        async with websockets.connect(f"{live_server.ws_url}/ws/agent") as ws:
            await ws.send(json.dumps({"type": "auth", "token": admin.token}))
            await ws.send(json.dumps({"type": "watch", "session_id": sid}))
            while json.loads(await ws.recv()).get("type") != "status":
                pass
        assert (await http.get("/api/admin/audit", headers=agent.headers)).status_code == 403
        by_session = (await http.get("/api/admin/audit", params={"subject_id": sid}, headers=admin.headers)).json()
        by_customer = (await http.get("/api/admin/audit", params={"subject_id": customer["id"]},
                                      headers=admin.headers)).json()
    seen = {(e["actor_id"], e["action"]) for e in by_session}
    assert seen == {(agent.agent_id, "read_transcript"), (admin.agent_id, "read_transcript")}
    assert {(e["actor_id"], e["actor_name"], e["action"]) for e in by_customer} == {
        (agent.agent_id, agent.name, "read_customer"), (admin.agent_id, admin.name, "export")}
    assert all(e["at"] and e["actor_role"] in ("agent", "admin") for e in by_session + by_customer)
