namespace AotMilter.Generators.Model;

/// <summary>
/// What the parser made of one [Milter] class: the model (null when an error prevents generation), where the class
/// is (for diagnostics that need the whole set, such as duplicate names) and the diagnostics found.
/// </summary>
internal sealed record FilterParseResult(FilterModel? Filter, LocationInfo? Location, EquatableArray<DiagnosticInfo> Diagnostics);
