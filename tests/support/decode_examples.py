"""Payload examples for the decoder tests, taken from each project's published documentation.

Sources: ChirpStack v4 docs (integrations/events.md), ChirpStack Application Server v3 docs
(integrate/sending-receiving.md: "JSON v3" and "Protobuf JSON"), The Things Stack docs
(integrations/mqtt), Milesight-IoT/SensorDecoders READMEs (EM300-TH/-SLD/-MCS), the Elsys
generic decoder's keys, zigbee2mqtt's MQTT topics and messages guide, Tasmota's JSON status
responses, RFC 8428 §5.1 examples. Where a documented example carries no decoded object, a
variant adds one (marked ``+object``) so the mapping is tested against the real envelope.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

__all__ = [
    "CHIRPSTACK_V3_JSON_STATUS",
    "CHIRPSTACK_V3_JSON_UP",
    "CHIRPSTACK_V3_PB_UP",
    "CHIRPSTACK_V4_JOIN",
    "CHIRPSTACK_V4_STATUS",
    "CHIRPSTACK_V4_UP",
    "ELSYS_OBJECT",
    "MILESIGHT_SLD_OBJECT",
    "TTS_UP",
    "dumps",
    "with_object",
]

_DEVICE_INFO = {
    "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
    "tenantName": "ChirpStack",
    "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97",
    "applicationName": "Test application",
    "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad",
    "deviceProfileName": "Test device-profile",
    "deviceName": "Test device",
    "devEui": "0101010101010101",
    "tags": {"key": "value"},
}

CHIRPSTACK_V4_UP: dict[str, Any] = {
    "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
    "time": "2022-07-18T09:34:15.775023242+00:00",
    "deviceInfo": _DEVICE_INFO,
    "devAddr": "00189440",
    "dr": 1,
    "fPort": 1,
    "data": "qg==",
    "rxInfo": [
        {
            "gatewayId": "0016c001f153a14c",
            "uplinkId": 4217106255,
            "rssi": -36,
            "snr": 10.5,
            "context": "E3OWOQ==",
            "metadata": {"region_name": "eu868", "region_common_name": "EU868"},
        }
    ],
    "txInfo": {
        "frequency": 867100000,
        "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 11, "codeRate": "CR_4_5"}},
    },
}

CHIRPSTACK_V4_STATUS: dict[str, Any] = {
    "deduplicationId": "bf2a9746-1c8b-49be-a92e-f0b89c8534e4",
    "time": "2022-07-18T09:35:06.927172638+00:00",
    "deviceInfo": _DEVICE_INFO,
    "margin": 10,
    "batteryLevel": 88.3,
}

CHIRPSTACK_V4_JOIN: dict[str, Any] = {
    "deduplicationId": "c9dbe358-2578-4fb7-b295-66b44edc45a6",
    "time": "2022-07-18T09:33:28.823500726+00:00",
    "deviceInfo": _DEVICE_INFO,
    "devAddr": "00189440",
}

CHIRPSTACK_V3_JSON_UP: dict[str, Any] = {
    "applicationID": "123",
    "applicationName": "temperature-sensor",
    "deviceName": "garden-sensor",
    "devEUI": "0202020202020202",
    "rxInfo": [
        {
            "gatewayID": "0303030303030303",
            "name": "rooftop-gateway",
            "time": "2016-11-25T16:24:37.295915988Z",
            "rssi": -57,
            "loRaSNR": 10,
            "location": {"latitude": 52.3740364, "longitude": 4.9144401, "altitude": 10.5},
        }
    ],
    "txInfo": {"frequency": 868100000, "dr": 5},
    "adr": False,
    "fCnt": 10,
    "fPort": 5,
    "data": "...",
    "object": {"temperatureSensor": {"1": 25}, "humiditySensor": {"1": 32}},
    "tags": {"key": "value"},
}

CHIRPSTACK_V3_PB_UP: dict[str, Any] = {
    "applicationID": "123",
    "applicationName": "temperature-sensor",
    "deviceName": "garden-sensor",
    "devEUI": "AgICAgICAgI=",
    "rxInfo": [
        {
            "gatewayID": "AwMDAwMDAwM=",
            "time": "2019-11-08T13:59:25.048445Z",
            "timeSinceGPSEpoch": None,
            "rssi": -48,
            "loRaSNR": 9,
            "channel": 5,
            "rfChain": 0,
            "board": 0,
            "antenna": 0,
            "location": {"latitude": 52.3740364, "longitude": 4.9144401, "altitude": 10.5},
            "fineTimestampType": "NONE",
            "context": "9u/uvA==",
            "uplinkID": "jhMh8Gq6RAOChSKbi83RHQ==",
        }
    ],
    "txInfo": {
        "frequency": 868100000,
        "modulation": "LORA",
        "loRaModulationInfo": {
            "bandwidth": 125,
            "spreadingFactor": 11,
            "codeRate": "4/5",
            "polarizationInversion": False,
        },
    },
    "adr": True,
    "dr": 1,
    "fCnt": 10,
    "fPort": 5,
    "data": "...",
    "objectJSON": '{"temperatureSensor":25,"humiditySensor":32}',
    "tags": {"key": "value"},
}

CHIRPSTACK_V3_JSON_STATUS: dict[str, Any] = {
    "applicationID": "123",
    "applicationName": "temperature-sensor",
    "deviceName": "garden-sensor",
    "devEUI": "0202020202020202",
    "battery": 200,
    "margin": 6,
    "externalPowerSource": False,
    "batteryLevelUnavailable": False,
    "batteryLevel": 75.5,
    "tags": {"key": "value"},
}

TTS_UP: dict[str, Any] = {
    "end_device_ids": {
        "device_id": "dev1",
        "application_ids": {"application_id": "app1"},
        "dev_eui": "4200000000000000",
        "join_eui": "4200000000000000",
        "dev_addr": "01DA1F15",
    },
    "correlation_ids": [
        "gs:conn:01D2CSNX7FJVKQPCVG612QF1TX",
        "as:up:01D2CV8HNGJ57G25BW0FCZNY07",
    ],
    "uplink_message": {
        "session_key_id": "AWiZpAyXrAfEkUNkBljRoA==",
        "f_port": 15,
        "frm_payload": "VGVtcGVyYXR1cmUgPSAwLjA=",
        "rx_metadata": [
            {
                "gateway_ids": {"gateway_id": "eui-0242020000247803", "eui": "0242020000247803"},
                "time": "2019-01-29T13:02:34.981Z",
                "timestamp": 1283325000,
                "rssi": -35,
                "snr": 5,
                "uplink_token": "CiIKIAoUZXVpLTAyNDIwMjAwMDAyNDc4MDMSCAJCAgAAJHgDEMj49+ME",
            }
        ],
        "settings": {
            "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7}},
            "data_rate_index": 5,
            "coding_rate": "4/6",
            "frequency": "868500000",
        },
    },
}

#: Elsys generic decoder output for an ERS/ELT (keys as the elsys.se decoder names them).
ELSYS_OBJECT: dict[str, Any] = {
    "temperature": 21.3,
    "humidity": 35,
    "light": 120,
    "motion": 3,
    "vdd": 3648,
    "occupancy": 2,
    "waterleak": 0,
    "externalTemperature": -19.4,
    "digital": 1,
}

#: Milesight EM300-SLD README example.
MILESIGHT_SLD_OBJECT: dict[str, Any] = {
    "battery": 92,
    "temperature": 30.8,
    "humidity": 50.5,
    "leakage_status": "normal",
}


def with_object(
    message: dict[str, Any], key: str, obj: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    out = copy.deepcopy(message)
    out[key] = obj
    out.update(extra)
    return out


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
