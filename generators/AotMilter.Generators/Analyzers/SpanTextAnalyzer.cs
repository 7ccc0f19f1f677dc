using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace AotMilter.Generators.Analyzers;

/// <summary>
/// <c>ToString()</c> on a span of bytes in a filter class (AOTM029). Host names, header names and values, HELO names
/// and body chunks reach a filter as spans of the MTA's bytes, and a span's <c>ToString()</c> is its type and length
/// ("System.ReadOnlySpan&lt;Byte&gt;[7]"): it compiles, runs, and matches nothing, so the mistake shows only as a
/// rule that never fires or a log line that says nothing.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class SpanTextAnalyzer() : FilterCodeAnalyzer(DiagnosticDescriptors.SpanToString)
{
    private protected override void Register(CompilationStartAnalysisContext start, KnownTypes known)
    {
        INamedTypeSymbol? span = start.Compilation.GetTypeByMetadataName("System.Span`1");
        start.RegisterOperationAction(c => AnalyzeInvocation(c, known.ReadOnlySpan, span), OperationKind.Invocation);
    }

    private static void AnalyzeInvocation(OperationAnalysisContext context, INamedTypeSymbol? readOnlySpan, INamedTypeSymbol? span)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (invocation.TargetMethod is not { Name: "ToString", Parameters.Length: 0 }
            || invocation.Instance?.Type is not INamedTypeSymbol { TypeArguments.Length: 1 } type
            || type.TypeArguments[0].SpecialType != SpecialType.System_Byte
            || !(SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, readOnlySpan) || SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, span))
            || FilterSymbols.EnclosingFilters(context.ContainingSymbol).Count == 0)
        {
            return;
        }

        string bytes = invocation.Instance.Syntax.ToString();
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.SpanToString, invocation.Syntax.GetLocation(), bytes, TextMethodOf(invocation.Instance) ?? $"Encoding.UTF8.GetString({bytes})"));
    }

    /// <summary>
    /// "header.NameString()" for <c>header.Name</c> when the property's type offers its text that way (HeaderField,
    /// ConnectInfo); null otherwise.
    /// </summary>
    private static string? TextMethodOf(IOperation bytes)
    {
        if (bytes is not IPropertyReferenceOperation { Instance: { } owner, Property: { } property })
        {
            return null;
        }

        foreach (ISymbol member in property.ContainingType.GetMembers(property.Name + "String"))
        {
            if (member is IMethodSymbol { Parameters.Length: 0, ReturnType.SpecialType: SpecialType.System_String, DeclaredAccessibility: Accessibility.Public })
            {
                return $"{owner.Syntax}.{member.Name}()";
            }
        }

        return null;
    }
}
