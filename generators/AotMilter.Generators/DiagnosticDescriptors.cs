using System;
using Microsoft.CodeAnalysis;

namespace AotMilter.Generators;

/// <summary>
/// Every diagnostic the generator reports. IDs are never renumbered or reused; docs/diagnostics.md describes each.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "AotMilter";

    public static readonly DiagnosticDescriptor InvalidFilterName = Error(
        "AOTM001",
        "Invalid filter name",
        "Filter name '{0}' on '{1}' is invalid: use lower-case letters, digits, '-' and '_', starting with a letter");

    public static readonly DiagnosticDescriptor DuplicateFilterName = Error(
        "AOTM002",
        "Duplicate filter name",
        "Filter name '{0}' is used by both {1} and {2}");

    public static readonly DiagnosticDescriptor UnsupportedFilterClass = Error(
        "AOTM003",
        "Filter class cannot be used",
        "Filter class '{0}' cannot be used because {1}");

    public static readonly DiagnosticDescriptor NoParameterlessConstructor = Error(
        "AOTM004",
        "Filter class has no parameterless constructor",
        "Filter class '{0}' needs a public or internal parameterless constructor: one instance is created per SMTP connection");

    public static readonly DiagnosticDescriptor UnsupportedParameter = Error(
        "AOTM005",
        "Unsupported callback parameter",
        "Parameter '{0}' of type '{1}' cannot be bound in {2} callback '{3}'; allowed types: {4}");

    public static readonly DiagnosticDescriptor UnsupportedReturnType = Error(
        "AOTM006",
        "Unsupported callback return type",
        "{0} callback '{1}' returns '{2}'; it must return {3}");

    public static readonly DiagnosticDescriptor DuplicateCallback = Error(
        "AOTM007",
        "Two methods for one callback",
        "Filter class '{0}' has two {1} callbacks: '{2}' and '{3}'");

    public static readonly DiagnosticDescriptor InaccessibleCallback = Error(
        "AOTM008",
        "Callback method cannot be called",
        "Callback method '{0}' cannot be called by the generated dispatcher because it is {1}; make it a public or internal, non-static, non-generic method");

    public static readonly DiagnosticDescriptor CallbackOutsideFilter = Error(
        "AOTM009",
        "Callback attribute outside a filter class",
        "Method '{0}' is marked [{1}] but its class '{2}' has no [Milter] attribute, so it is never called");

    public static readonly DiagnosticDescriptor EditorEscapes = Warning(
        "AOTM010",
        "MessageEditor leaves the filter class",
        "Filter class '{0}' passes its MessageEditor to '{1}': the actions it needs cannot be derived from code outside the class, so keep MessageEditor calls inside '{0}'");

    public static readonly DiagnosticDescriptor DuplicateParameterType = Error(
        "AOTM011",
        "Parameter type repeated",
        "{0} callback '{1}' has two parameters of type '{2}' ('{3}' and '{4}'); each type can be bound once");

    public static DiagnosticDescriptor ById(string id) => id switch
    {
        "AOTM001" => InvalidFilterName,
        "AOTM002" => DuplicateFilterName,
        "AOTM003" => UnsupportedFilterClass,
        "AOTM004" => NoParameterlessConstructor,
        "AOTM005" => UnsupportedParameter,
        "AOTM006" => UnsupportedReturnType,
        "AOTM007" => DuplicateCallback,
        "AOTM008" => InaccessibleCallback,
        "AOTM009" => CallbackOutsideFilter,
        "AOTM010" => EditorEscapes,
        "AOTM011" => DuplicateParameterType,
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "unknown diagnostic ID"),
    };

    private static DiagnosticDescriptor Error(string id, string title, string message)
        => new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static DiagnosticDescriptor Warning(string id, string title, string message)
        => new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);
}
