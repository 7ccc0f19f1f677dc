using System.Collections.Concurrent;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace AotMilter.Generators.Analyzers;

/// <summary>
/// Verdicts that mean nothing where a deciding callback's own code names them: <c>Verdict.Skip</c> outside the body
/// callback (AOTM020) and <c>Verdict.Discard</c> at connect or HELO (AOTM021). For Skip, the methods of the filter class
/// that return a verdict are followed too, through each other (AOTM027): a call from such a callback to one whose code,
/// or that of one it calls, names Skip. The generator reads the body callback's own Skip separately, to negotiate
/// SMFIP_SKIP.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class VerdictUseAnalyzer() : FilterCodeAnalyzer(DiagnosticDescriptors.SkipOutsideBody, DiagnosticDescriptors.DiscardBeforeMessage, DiagnosticDescriptors.SkipThroughHelper)
{
    private protected override void Register(CompilationStartAnalysisContext start, KnownTypes known)
    {
        start.RegisterSyntaxNodeAction(c => AnalyzeIdentifier(c, known), SyntaxKind.IdentifierName);
        start.RegisterSymbolStartAction(c => StartFilterClass(c, known), SymbolKind.NamedType);
    }

    /// <summary>Collects, for one filter class, which of its deciding methods name Verdict.Skip and which call which; reports at its end.</summary>
    private static void StartFilterClass(SymbolStartAnalysisContext start, KnownTypes known)
    {
        var type = (INamedTypeSymbol)start.Symbol;
        if (!FilterSymbols.IsFilter(type))
        {
            return;
        }

        var skipping = new ConcurrentDictionary<IMethodSymbol, bool>(SymbolEqualityComparer.Default);
        var calls = new ConcurrentQueue<(IMethodSymbol Caller, IMethodSymbol Callee, Location At)>();
        start.RegisterOperationAction(
            c =>
            {
                if (DecidingMethodOf(c.ContainingSymbol, type, known) is { } method
                    && ((IPropertyReferenceOperation)c.Operation).Property is { Name: "Skip" } property
                    && SymbolEqualityComparer.Default.Equals(property.ContainingType, known.Verdict))
                {
                    skipping[method] = true;
                }
            },
            OperationKind.PropertyReference);
        start.RegisterOperationAction(
            c =>
            {
                if (DecidingMethodOf(c.ContainingSymbol, type, known) is { } caller
                    && DecidingMethodOf(((IInvocationOperation)c.Operation).TargetMethod.OriginalDefinition, type, known) is { } callee
                    && !SymbolEqualityComparer.Default.Equals(caller, callee))
                {
                    calls.Enqueue((caller, callee, c.Operation.Syntax.GetLocation()));
                }
            },
            OperationKind.Invocation);
        start.RegisterSymbolEndAction(c => ReportSkipThroughHelpers(c, known, skipping, calls));
    }

    /// <summary>Reports each call from a deciding callback other than the body's to a method that reaches a Verdict.Skip.</summary>
    private static void ReportSkipThroughHelpers(
        SymbolAnalysisContext context,
        KnownTypes known,
        ConcurrentDictionary<IMethodSymbol, bool> skipping,
        ConcurrentQueue<(IMethodSymbol Caller, IMethodSymbol Callee, Location At)> calls)
    {
        if (skipping.IsEmpty)
        {
            return;
        }

        var callees = new Dictionary<IMethodSymbol, List<IMethodSymbol>>(SymbolEqualityComparer.Default);
        foreach ((IMethodSymbol caller, IMethodSymbol callee, _) in calls)
        {
            if (!callees.TryGetValue(caller, out List<IMethodSymbol>? list))
            {
                callees.Add(caller, list = []);
            }

            list.Add(callee);
        }

        foreach ((IMethodSymbol caller, IMethodSymbol callee, Location at) in calls)
        {
            if (SkipReachedFrom(callee, skipping, callees, new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default)) is not { } source)
            {
                continue;
            }

            string through = SymbolEqualityComparer.Default.Equals(source, callee) ? "" : " (through '" + source.Name + "')";
            foreach (MilterEvent kind in known.EventsBoundTo(caller))
            {
                if (kind != MilterEvent.Body)
                {
                    context.ReportDiagnostic(Diagnostic.Create(
                        DiagnosticDescriptors.SkipThroughHelper, at, FilterSymbols.AttributeDisplay(kind), caller.Name, callee.Name, through));
                }
            }
        }
    }

    /// <summary>The method whose own code names Verdict.Skip: <paramref name="method"/> or one it calls, directly or not; null when none does.</summary>
    private static IMethodSymbol? SkipReachedFrom(
        IMethodSymbol method,
        ConcurrentDictionary<IMethodSymbol, bool> skipping,
        Dictionary<IMethodSymbol, List<IMethodSymbol>> callees,
        HashSet<IMethodSymbol> visited)
    {
        if (!visited.Add(method))
        {
            return null;
        }

        if (skipping.ContainsKey(method))
        {
            return method;
        }

        if (callees.TryGetValue(method, out List<IMethodSymbol>? next))
        {
            foreach (IMethodSymbol callee in next)
            {
                if (SkipReachedFrom(callee, skipping, callees, visited) is { } found)
                {
                    return found;
                }
            }
        }

        return null;
    }

    /// <summary>The symbol when it is an ordinary method of the filter class itself that returns a verdict; else null.</summary>
    private static IMethodSymbol? DecidingMethodOf(ISymbol? symbol, INamedTypeSymbol type, KnownTypes known)
        => symbol is IMethodSymbol { MethodKind: MethodKind.Ordinary } method
            && SymbolEqualityComparer.Default.Equals(method.ContainingType?.OriginalDefinition, type)
            && known.Decides(method)
                ? method
                : null;

    private static void AnalyzeIdentifier(SyntaxNodeAnalysisContext context, KnownTypes known)
    {
        var identifier = (IdentifierNameSyntax)context.Node;
        string member = identifier.Identifier.ValueText;
        if (member is not ("Skip" or "Discard")
            || identifier.FirstAncestorOrSelf<MethodDeclarationSyntax>() is not { } declaration
            || context.SemanticModel.GetSymbolInfo(identifier, context.CancellationToken).Symbol is not IPropertySymbol property
            || !SymbolEqualityComparer.Default.Equals(property.ContainingType, known.Verdict)
            || context.SemanticModel.GetDeclaredSymbol(declaration, context.CancellationToken) is not { } method
            || !known.Decides(method)
            || method.ContainingType is not { } type
            || !FilterSymbols.IsFilter(type))
        {
            return;
        }

        Location at = (identifier.Parent is MemberAccessExpressionSyntax access && access.Name == identifier ? access : (SyntaxNode)identifier).GetLocation();
        foreach (MilterEvent kind in known.EventsBoundTo(method))
        {
            if (member == "Skip" && kind != MilterEvent.Body)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.SkipOutsideBody, at, FilterSymbols.AttributeDisplay(kind), method.Name));
            }
            else if (member == "Discard" && kind is MilterEvent.Connect or MilterEvent.Helo)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.DiscardBeforeMessage, at, FilterSymbols.AttributeDisplay(kind), method.Name));
            }
        }
    }
}
