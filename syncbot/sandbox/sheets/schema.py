"""The request bodies the fake accepts, field by field, as Google's Sheets v4 discovery
document (``sheets.v4.json``) names them: a field Google does not know is refused with
Google's message, so a typo in a request fails in tests as it would against Google.

Only the messages of the requests the fake carries out are listed; a field whose message is
``ANY`` (formats, colours, criteria) is passed through unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from syncbot.sandbox.sheets.grid import invalid

ANY = "*"
# message -> field -> the field's message (ANY, or None for a scalar); a list is repeated.
FIELDS: dict[str, dict[str, str | list[str] | None]] = {
    "BatchUpdateSpreadsheetRequest": {
        "requests": ["Request"],
        "includeSpreadsheetInResponse": None,
        "responseRanges": None,
        "responseIncludeGridData": None,
    },
    "Request": {
        "addSheet": "AddSheetRequest",
        "deleteSheet": "DeleteSheetRequest",
        "updateSheetProperties": "UpdateSheetPropertiesRequest",
        "appendDimension": "AppendDimensionRequest",
        "insertDimension": "InsertDimensionRequest",
        "deleteDimension": "DeleteDimensionRequest",
        "updateDimensionProperties": "UpdateDimensionPropertiesRequest",
        "updateCells": "UpdateCellsRequest",
        "repeatCell": "RepeatCellRequest",
        "copyPaste": "CopyPasteRequest",
        "cutPaste": "CutPasteRequest",
        "sortRange": "SortRangeRequest",
        "setBasicFilter": "SetBasicFilterRequest",
        "clearBasicFilter": "ClearBasicFilterRequest",
        "addConditionalFormatRule": "AddConditionalFormatRuleRequest",
        "updateConditionalFormatRule": "UpdateConditionalFormatRuleRequest",
        "deleteConditionalFormatRule": "DeleteConditionalFormatRuleRequest",
        "addChart": "AddChartRequest",
        "updateChartSpec": "UpdateChartSpecRequest",
        "deleteEmbeddedObject": "DeleteEmbeddedObjectRequest",
    },
    "AddChartRequest": {"chart": "EmbeddedChart"},
    "UpdateChartSpecRequest": {"chartId": None, "spec": "ChartSpec"},
    "DeleteEmbeddedObjectRequest": {"objectId": None},
    "EmbeddedChart": {
        "chartId": None,
        "spec": "ChartSpec",
        "position": "EmbeddedObjectPosition",
        "border": ANY,
    },
    "EmbeddedObjectPosition": {
        "sheetId": None,
        "overlayPosition": "OverlayPosition",
        "newSheet": None,
    },
    "OverlayPosition": {
        "anchorCell": "GridCoordinate",
        "offsetXPixels": None,
        "offsetYPixels": None,
        "widthPixels": None,
        "heightPixels": None,
    },
    "ChartSpec": {
        "title": None,
        "altText": None,
        "titleTextFormat": ANY,
        "titleTextPosition": ANY,
        "subtitle": None,
        "subtitleTextFormat": ANY,
        "subtitleTextPosition": ANY,
        "fontName": None,
        "maximized": None,
        "backgroundColor": ANY,
        "backgroundColorStyle": ANY,
        "dataSourceChartProperties": ANY,
        "filterSpecs": ANY,
        "sortSpecs": ANY,
        "hiddenDimensionStrategy": None,
        "basicChart": "BasicChartSpec",
        "pieChart": ANY,
        "bubbleChart": ANY,
        "candlestickChart": ANY,
        "orgChart": ANY,
        "histogramChart": ANY,
        "waterfallChart": ANY,
        "treemapChart": ANY,
        "scorecardChart": ANY,
    },
    "BasicChartSpec": {
        "chartType": None,
        "legendPosition": None,
        "axis": ["BasicChartAxis"],
        "domains": ["BasicChartDomain"],
        "series": ["BasicChartSeries"],
        "headerCount": None,
        "threeDimensional": None,
        "interpolateNulls": None,
        "stackedType": None,
        "lineSmoothing": None,
        "compareMode": None,
        "totalDataLabel": ANY,
    },
    "BasicChartAxis": {
        "position": None,
        "title": None,
        "format": ANY,
        "titleTextPosition": ANY,
        "viewWindowOptions": ANY,
    },
    "BasicChartDomain": {"domain": "ChartData", "reversed": None},
    "BasicChartSeries": {
        "series": "ChartData",
        "targetAxis": None,
        "type": None,
        "lineStyle": ANY,
        "dataLabel": ANY,
        "color": ANY,
        "colorStyle": ANY,
        "pointStyle": ANY,
        "styleOverrides": ANY,
    },
    "ChartData": {
        "sourceRange": "ChartSourceRange",
        "groupRule": ANY,
        "columnReference": ANY,
        "aggregateType": None,
    },
    "ChartSourceRange": {"sources": ["GridRange"]},
    "AddSheetRequest": {"properties": "SheetProperties"},
    "SheetProperties": {
        "sheetId": None,
        "title": None,
        "index": None,
        "sheetType": None,
        "gridProperties": "GridProperties",
        "hidden": None,
        "tabColor": ANY,
        "tabColorStyle": ANY,
        "rightToLeft": None,
        "dataSourceSheetProperties": ANY,
    },
    "GridProperties": {
        "rowCount": None,
        "columnCount": None,
        "frozenRowCount": None,
        "frozenColumnCount": None,
        "hideGridlines": None,
        "rowGroupControlAfter": None,
        "columnGroupControlAfter": None,
    },
    "DeleteSheetRequest": {"sheetId": None},
    "UpdateSheetPropertiesRequest": {"properties": "SheetProperties", "fields": None},
    "AppendDimensionRequest": {"sheetId": None, "dimension": None, "length": None},
    "InsertDimensionRequest": {"range": "DimensionRange", "inheritFromBefore": None},
    "DeleteDimensionRequest": {"range": "DimensionRange"},
    "DimensionRange": {"sheetId": None, "dimension": None, "startIndex": None, "endIndex": None},
    "UpdateDimensionPropertiesRequest": {
        "range": "DimensionRange",
        "dataSourceSheetRange": ANY,
        "properties": "DimensionProperties",
        "fields": None,
    },
    "DimensionProperties": {
        "hiddenByFilter": None,
        "hiddenByUser": None,
        "pixelSize": None,
        "developerMetadata": ANY,
        "dataSourceColumnReference": ANY,
    },
    "UpdateCellsRequest": {
        "start": "GridCoordinate",
        "range": "GridRange",
        "rows": ["RowData"],
        "fields": None,
    },
    "GridCoordinate": {"sheetId": None, "rowIndex": None, "columnIndex": None},
    "GridRange": {
        "sheetId": None,
        "startRowIndex": None,
        "endRowIndex": None,
        "startColumnIndex": None,
        "endColumnIndex": None,
    },
    "RowData": {"values": ["CellData"]},
    "CellData": {
        "userEnteredValue": "ExtendedValue",
        "effectiveValue": "ExtendedValue",
        "formattedValue": None,
        "userEnteredFormat": ANY,
        "effectiveFormat": ANY,
        "hyperlink": None,
        "note": None,
        "textFormatRuns": ANY,
        "dataValidation": ANY,
        "pivotTable": ANY,
        "dataSourceTable": ANY,
        "dataSourceFormula": ANY,
        "chipRuns": ANY,
    },
    "ExtendedValue": {
        "numberValue": None,
        "stringValue": None,
        "boolValue": None,
        "formulaValue": None,
        "errorValue": ANY,
    },
    "RepeatCellRequest": {"range": "GridRange", "cell": "CellData", "fields": None},
    "CopyPasteRequest": {
        "source": "GridRange",
        "destination": "GridRange",
        "pasteType": None,
        "pasteOrientation": None,
    },
    "CutPasteRequest": {
        "source": "GridRange",
        "destination": "GridCoordinate",
        "pasteType": None,
    },
    "SortRangeRequest": {"range": "GridRange", "sortSpecs": ["SortSpec"]},
    "SortSpec": {
        "dimensionIndex": None,
        "sortOrder": None,
        "foregroundColor": ANY,
        "backgroundColor": ANY,
        "foregroundColorStyle": ANY,
        "backgroundColorStyle": ANY,
        "dataSourceColumnReference": ANY,
    },
    "SetBasicFilterRequest": {"filter": "BasicFilter"},
    "BasicFilter": {
        "range": "GridRange",
        "sortSpecs": ["SortSpec"],
        "criteria": ANY,
        "filterSpecs": ANY,
        "tableId": None,
    },
    "ClearBasicFilterRequest": {"sheetId": None},
    "AddConditionalFormatRuleRequest": {"rule": "ConditionalFormatRule", "index": None},
    "ConditionalFormatRule": {
        "ranges": ["GridRange"],
        "booleanRule": "BooleanRule",
        "gradientRule": ANY,
    },
    "BooleanRule": {"condition": "BooleanCondition", "format": ANY},
    "BooleanCondition": {"type": None, "values": ["ConditionValue"]},
    "ConditionValue": {"relativeDate": None, "userEnteredValue": None},
    "UpdateConditionalFormatRuleRequest": {
        "index": None,
        "newIndex": None,
        "rule": "ConditionalFormatRule",
        "sheetId": None,
    },
    "DeleteConditionalFormatRuleRequest": {"index": None, "sheetId": None},
    "BatchUpdateValuesRequest": {
        "valueInputOption": None,
        "data": ["ValueRange"],
        "includeValuesInResponse": None,
        "responseValueRenderOption": None,
        "responseDateTimeRenderOption": None,
    },
    "ValueRange": {"range": None, "majorDimension": None, "values": None},
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def check(body: Any, message: str) -> None:
    """Refuse ``body`` as Google would if it names a field ``message`` does not have."""
    _check(body, message, "")


def _check(value: Any, message: str, path: str) -> None:
    if not isinstance(value, Mapping):
        raise invalid(f"Invalid JSON payload received. Expected an object at '{path}'.")
    known = FIELDS[message]
    for name, given in value.items():
        if name not in known:
            where = f" at '{path}'" if path else ""
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
            )
        kind = known[name]
        here = f"{path}.{_CAMEL.sub('_', name).lower()}".lstrip(".")
        if isinstance(kind, list):
            if not isinstance(given, list):
                raise invalid(f"Invalid JSON payload received. Expected a list at '{here}'.")
            for index, item in enumerate(given):
                _check(item, kind[0], f"{here}[{index}]")
        elif kind is not None and kind != ANY:
            _check(given, kind, here)
