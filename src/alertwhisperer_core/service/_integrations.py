"""What a new company's admin pastes into each monitoring tool: URL and configuration snippets.

Shown with the API key, once, at company creation and key regeneration. Every snippet sends the
tool's own native payload to the one webhook endpoint, which recognises the format (SPEC §2),
so no tool needs a custom template beyond what is shown here.
"""

from __future__ import annotations

import json
from urllib.parse import quote

__all__ = ["WEBHOOK_PATH", "integration_snippets", "webhook_url"]

WEBHOOK_PATH = "/api/webhooks/alerts"

# Datadog's webhook variables under the names the Datadog normalizer reads.
_DATADOG_PAYLOAD = {
    "id": "$ID",
    "alert_id": "$ALERT_ID",
    "alert_cycle_key": "$ALERT_CYCLE_KEY",
    "aggreg_key": "$AGGREG_KEY",
    "alert_transition": "$ALERT_TRANSITION",
    "alert_type": "$ALERT_TYPE",
    "alert_priority": "$ALERT_PRIORITY",
    "alert_title": "$ALERT_TITLE",
    "alert_status": "$ALERT_STATUS",
    "alert_metric": "$ALERT_METRIC",
    "alert_query": "$ALERT_QUERY",
    "alert_scope": "$ALERT_SCOPE",
    "title": "$EVENT_TITLE",
    "body": "$EVENT_MSG",
    "event_type": "$EVENT_TYPE",
    "host_name": "$HOSTNAME",
    "tags": "$TAGS",
    "date": "$DATE",
    "last_updated": "$LAST_UPDATED",
    "link": "$LINK",
    "org": {"id": "$ORG_ID", "name": "$ORG_NAME"},
}

# Zabbix webhook media type parameters: Zabbix's own names, filled from its macros.
_ZABBIX_PARAMETERS = {
    "eventid": "{EVENT.ID}",
    "eventname": "{EVENT.NAME}",
    "eventvalue": "{EVENT.VALUE}",
    "eventupdate": "{EVENT.UPDATE.STATUS}",
    "eventack": "{EVENT.ACK.STATUS}",
    "severity": "{EVENT.NSEVERITY}",
    "event_source": "{EVENT.SOURCE}",
    "hostname": "{HOST.NAME}",
    "hostip": "{HOST.IP}",
    "triggerid": "{TRIGGER.ID}",
    "triggerdesc": "{TRIGGER.DESCRIPTION}",
    "triggeropdata": "{EVENT.OPDATA}",
    "eventtags": "{EVENT.TAGS}",
    "eventdate": "{EVENT.DATE}",
    "eventtime": "{EVENT.TIME}",
}

_ZABBIX_SCRIPT = """\
var params = JSON.parse(value), request = new HttpRequest();
var url = params.URL;
delete params.URL;
request.addHeader('Content-Type: application/json');
var response = request.post(url, JSON.stringify(params));
if (request.getStatus() < 200 || request.getStatus() >= 300) {
    throw 'Alert Whisperer answered ' + request.getStatus() + ': ' + response;
}
return 'OK';"""


def webhook_url(public_url: str, api_key: str, source: str | None = None) -> str:
    """The company's webhook URL (the API key rides in the query, as most tools only take a URL)."""
    url = f"{public_url.rstrip('/')}{WEBHOOK_PATH}?api_key={quote(api_key, safe='')}"
    return f"{url}&source={source}" if source else url


def integration_snippets(public_url: str, api_key: str) -> dict[str, dict[str, str]]:
    """Setup instructions and configuration for Datadog, Zabbix, Alertmanager and CloudWatch."""
    url = webhook_url(public_url, api_key)
    zabbix_parameters = {"URL": webhook_url(public_url, api_key, "zabbix"), **_ZABBIX_PARAMETERS}
    alertmanager_yaml = (
        "receivers:\n"
        "  - name: alert-whisperer\n"
        "    webhook_configs:\n"
        f"      - url: '{webhook_url(public_url, api_key, 'alertmanager')}'\n"
        "        send_resolved: true\n"
    )
    return {
        "datadog": {
            "webhook_url": webhook_url(public_url, api_key, "datadog"),
            "instructions": (
                "Integrations > Webhooks > New: paste the URL, paste the payload below, and "
                "mention @webhook-<name> in the monitors that should alert."
            ),
            "payload": json.dumps(_DATADOG_PAYLOAD, indent=2),
        },
        "zabbix": {
            "webhook_url": zabbix_parameters["URL"],
            "instructions": (
                "Alerts > Media types > Create: type Webhook, add the parameters below (name = "
                "value), paste the script, then add the media to a user and an action."
            ),
            "parameters": json.dumps(zabbix_parameters, indent=2),
            "script": _ZABBIX_SCRIPT,
        },
        "alertmanager": {
            "webhook_url": webhook_url(public_url, api_key, "alertmanager"),
            "instructions": "Add this receiver to alertmanager.yml and route alerts to it.",
            "config": alertmanager_yaml,
        },
        "cloudwatch": {
            "webhook_url": webhook_url(public_url, api_key, "cloudwatch"),
            "instructions": (
                "Point the alarm's actions at an SNS topic and add an HTTPS subscription with "
                "this URL. The subscription confirmation appears in the audit log with its "
                "confirm URL; open it once to confirm."
            ),
            "config": (
                "aws sns subscribe --protocol https --topic-arn <TOPIC_ARN> "
                f"--notification-endpoint '{webhook_url(public_url, api_key, 'cloudwatch')}'"
            ),
        },
        "generic": {
            "webhook_url": url,
            "instructions": "POST JSON with asset_name, signature, severity, message, tool_source.",
            "config": (
                f"curl -X POST '{url}' -H 'Content-Type: application/json' "
                '-d \'{"asset_name": "srv-app-01", "signature": "disk_full", '
                '"severity": "critical", "message": "Disk full", "tool_source": "custom"}\''
            ),
        },
    }
