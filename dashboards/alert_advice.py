"""What to do about an alert, per rule, in words for the person who gets it.

Night supervision's alerts carry their own instruction; building alerts said only what is
wrong. These are first steps a caretaker or kitchen can take at once; a site's own routine
(its egenkontrollprogram, its on-call list) still decides the rest. Swedish first.
"""

from __future__ import annotations

from alerts.store import Alert

__all__ = ["ADVICE", "advice_for"]

#: rule name -> (Swedish, English)
ADVICE: dict[str, tuple[str, str]] = {
    "freezer_too_warm": (
        "Kontrollera att frysdörren är stängd och att frysen går. Är den inte −18 °C eller "
        "kallare inom 2 h: flytta varorna till en annan frys och anteckna det i egenkontrollen.",
        "Check that the freezer door is closed and the freezer runs. If it is not −18 °C or "
        "colder within 2 h: move the food to another freezer and note it in the food-safety log.",
    ),
    "freezer_door_open_too_long": (
        "Stäng frysdörren och kontrollera temperaturen inom 2 h.",
        "Close the freezer door and check the temperature within 2 h.",
    ),
    "freezer_door_open_after_closing": (
        "Köket är stängt: be någon stänga frysdörren och kontrollera temperaturen inom 2 h.",
        "The kitchen is closed: have someone close the freezer door and check the temperature "
        "within 2 h.",
    ),
    "fridge_too_warm": (
        "Kontrollera att kyldörren är stängd och att kylen går. Varor som varit över +8 °C "
        "bedöms enligt kökets egenkontrollprogram; anteckna vad som gjordes.",
        "Check that the fridge door is closed and the fridge runs. Food that was above +8 °C is "
        "judged by the kitchen's food-safety plan; note what was done.",
    ),
    "fridge_door_open_too_long": (
        "Stäng kyldörren och kontrollera temperaturen inom 1 h.",
        "Close the fridge door and check the temperature within 1 h.",
    ),
    "shed_too_hot": (
        "Kontrollera ventilation och kylning i teknikboden; åk dit om temperaturen fortsätter "
        "att stiga.",
        "Check the shed's ventilation and cooling; go there if the temperature keeps rising.",
    ),
    "water_leak": (
        "Åk dit nu: stäng av vattnet om det går och torka upp. Ring fastighetsjouren vid en "
        "större läcka.",
        "Go there now: shut off the water if you can and dry up. Call the property's on-call "
        "service for a larger leak.",
    ),
    "premises_not_armed_after_closing": (
        "Kontrollera att lokalen är tom och koppla på larmet, eller ring den som stängde.",
        "Check that the premises are empty and arm the alarm, or call whoever closed up.",
    ),
    "safety_alarm_pressed": (
        "Följ rutinen för trygghetslarm: svara eller ring upp direkt, åk dit om ingen svarar.",
        "Follow the safety-alarm routine: answer or call back at once, go there if nobody answers.",
    ),
    "fall_detected": (
        "Åk dit direkt enligt rutinen för fall; ring 112 vid skada.",
        "Go there at once as the fall routine says; call 112 if someone is hurt.",
    ),
    "device_silent": (
        "Kontrollera att enheten har ström och täckning (batteri, gateway, nätverk). Tills den "
        "rapporterar igen övervakas inget på platsen.",
        "Check that the device has power and coverage (battery, gateway, network). Until it "
        "reports again nothing is watched there.",
    ),
    "battery_low": (
        "Byt batteri: inom en vecka vid varning, i dag vid kritisk nivå. Annars slutar enheten "
        "att rapportera.",
        "Replace the battery: within a week at warning, today at critical. Otherwise the device "
        "stops reporting.",
    ),
}


def advice_for(alert: Alert, lang: str) -> str | None:
    """The first step for an open alert of a known rule; none once it is resolved."""
    if alert.state == "resolved":
        return None
    pair = ADVICE.get(alert.rule)
    if pair is None:
        return None
    return pair[1] if lang == "en" else pair[0]
